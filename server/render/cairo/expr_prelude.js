/*
 * expr_prelude.js - the After Effects expression API, as lottie-web's ExpressionManager offers it,
 * over the Cairo engine's document model (expr.c).
 *
 * expr.c describes every composition as plain objects (layers, transforms, effects, shape items,
 * properties by registry id) and calls __fw_build(); this file turns them into the interfaces
 * expressions use: callable layers and groups (layer('ADBE Root Vectors Group')(1)...), property
 * values that are numbers or arrays carrying valueAtTime/key/loopOut..., and the global helpers
 * ($bm_sum, linear, ease, wiggle, ...). Values come from natives in expr.c:
 *   __fw_val(id, frame, withExpr)  the property at a layer-local frame (number, array or path)
 *   __fw_key(id, k)                [frame, values...] of key k (0-based)
 *   __fw_ease(x1, y1, x2, y2, t)   cubic-bezier easing
 *   __fw_hash(a, b, c)             a deterministic number in [0, 1)
 * __fw_F is the composition frame of the evaluation in progress and __fw_FR the frame rate.
 */
var __fw_F = 0, __fw_FR = 30, __fw_props = [], __fw_comps = [];

function __fw_isArr(a) {
    return a !== null && typeof a === 'object' && (Array.isArray(a) || a instanceof Float64Array ||
        a instanceof Float32Array);
}
function __fw_isNum(a) {
    var t = typeof a;
    return t === 'number' || t === 'boolean' || t === 'string' || a instanceof Number;
}
function __fw_copy(a) {
    var r = [], i;
    for (i = 0; i < a.length; i++) r[i] = a[i];
    return r;
}

/* ---- operators: Bodymovin rewrites +, -, *, / between values into these ---------------------- */

function $bm_neg(a) {
    if (__fw_isNum(a)) return -a;
    if (__fw_isArr(a)) {
        var r = [], i;
        for (i = 0; i < a.length; i++) r[i] = -a[i];
        return r;
    }
    return a;
}
function __fw_addsub(a, b, s) {
    var ta = typeof a, tb = typeof b, r, i, n;
    if (s > 0 && (ta === 'string' || tb === 'string')) return a + b;
    if (__fw_isNum(a) && __fw_isNum(b)) {
        if (s > 0) return a + b;
        if (ta === 'string') a = parseInt(a, 10);
        if (tb === 'string') b = parseInt(b, 10);
        return a - b;
    }
    if (__fw_isArr(a) && __fw_isNum(b)) {
        r = __fw_copy(a);
        r[0] = s > 0 ? a[0] + b : a[0] - b;
        return r;
    }
    if (__fw_isNum(a) && __fw_isArr(b)) {
        r = __fw_copy(b);
        r[0] = s > 0 ? a + b[0] : a - b[0];
        return r;
    }
    if (__fw_isArr(a) && __fw_isArr(b)) {
        r = [];
        n = Math.max(a.length, b.length);
        for (i = 0; i < n; i++) {
            if ((typeof a[i] === 'number' || a[i] instanceof Number) &&
                (typeof b[i] === 'number' || b[i] instanceof Number))
                r[i] = s > 0 ? a[i] + b[i] : a[i] - b[i];
            else
                r[i] = b[i] === undefined ? a[i] : a[i] || b[i];
        }
        return r;
    }
    return 0;
}
function sum(a, b) { return __fw_addsub(a, b, 1); }
function sub(a, b) { return __fw_addsub(a, b, -1); }
function __fw_muldiv(a, b, m) {
    var r = [], i;
    if (__fw_isNum(a) && __fw_isNum(b)) return m ? a * b : a / b;
    if (__fw_isArr(a) && __fw_isNum(b)) {
        for (i = 0; i < a.length; i++) r[i] = m ? a[i] * b : a[i] / b;
        return r;
    }
    if (__fw_isNum(a) && __fw_isArr(b)) {
        for (i = 0; i < b.length; i++) r[i] = m ? a * b[i] : a / b[i];
        return r;
    }
    return 0;
}
function mul(a, b) { return __fw_muldiv(a, b, 1); }
function div(a, b) { return __fw_muldiv(a, b, 0); }
function mod(a, b) {
    if (typeof a === 'string') a = parseInt(a, 10);
    if (typeof b === 'string') b = parseInt(b, 10);
    return a % b;
}
var add = sum, $bm_sum = sum, $bm_sub = sub, $bm_mul = mul, $bm_div = div, $bm_mod = mod;

/* ---- math helpers ---------------------------------------------------------------------------- */

function clamp(v, lo, hi) {
    var t, r, i;
    if (__fw_isArr(v)) {
        r = [];
        for (i = 0; i < v.length; i++)
            r[i] = clamp(v[i], __fw_isArr(lo) ? lo[i] : lo, __fw_isArr(hi) ? hi[i] : hi);
        return r;
    }
    if (lo > hi) { t = hi; hi = lo; lo = t; }
    return Math.min(Math.max(v, lo), hi);
}
function radiansToDegrees(v) { return v * 180 / Math.PI; }
function degreesToRadians(v) { return v * Math.PI / 180; }
var radians_to_degrees = radiansToDegrees, degrees_to_radians = degreesToRadians;
function length(a, b) {
    var i, n, s = 0;
    if (typeof a === 'number' || a instanceof Number) return Math.abs(a - (b || 0));
    if (!b) b = [0, 0, 0, 0, 0, 0];
    n = Math.min(a.length, b.length);
    for (i = 0; i < n; i++) s += (b[i] - a[i]) * (b[i] - a[i]);
    return Math.sqrt(s);
}
function normalize(v) { return div(v, length(v)); }
function dot(a, b) { var s = 0, i; for (i = 0; i < Math.min(a.length, b.length); i++) s += a[i] * b[i]; return s; }
function cross(a, b) {
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
function rgbToHsl(c) {
    var r = c[0], g = c[1], b = c[2], mx = Math.max(r, g, b), mn = Math.min(r, g, b);
    var h = 0, s = 0, l = (mx + mn) / 2, d = mx - mn;
    if (d !== 0) {
        s = l > 0.5 ? d / (2 - mx - mn) : d / (mx + mn);
        if (mx === r) h = (g - b) / d + (g < b ? 6 : 0);
        else if (mx === g) h = (b - r) / d + 2;
        else h = (r - g) / d + 4;
        h /= 6;
    }
    return [h, s, l, c[3]];
}
function __fw_hue(p, q, t) {
    if (t < 0) t += 1;
    if (t > 1) t -= 1;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
}
function hslToRgb(c) {
    var h = c[0], s = c[1], l = c[2], q, p;
    if (s === 0) return [l, l, l, c[3]];
    q = l < 0.5 ? l * (1 + s) : l + s - l * s;
    p = 2 * l - q;
    return [__fw_hue(p, q, h + 1 / 3), __fw_hue(p, q, h), __fw_hue(p, q, h - 1 / 3), c[3]];
}

/* linear() as lottie-web computes it: the three-argument form maps 0..1. */
function linear(t, tMin, tMax, v1, v2) {
    var p, r, i, x;
    if (v1 === undefined || v2 === undefined) { v1 = tMin; v2 = tMax; tMin = 0; tMax = 1; }
    if (tMax < tMin) { x = tMax; tMax = tMin; tMin = x; }
    if (t <= tMin) return v1;
    if (t >= tMax) return v2;
    p = tMax === tMin ? 0 : (t - tMin) / (tMax - tMin);
    if (!__fw_isArr(v1)) return v1 + (v2 - v1) * p;
    r = [];
    for (i = 0; i < v1.length; i++) r[i] = v1[i] + (v2[i] - v1[i]) * p;
    return r;
}
function __fw_applyEase(c, t, tMin, tMax, v1, v2) {
    var m, r, i;
    if (v1 === undefined) { v1 = tMin; v2 = tMax; }
    else t = (t - tMin) / (tMax - tMin);
    t = t > 1 ? 1 : t < 0 ? 0 : t;
    m = __fw_ease(c[0], c[1], c[2], c[3], t);
    if (!__fw_isArr(v1)) return (v2 - v1) * m + v1;
    r = [];
    for (i = 0; i < v1.length; i++) r[i] = (v2[i] - v1[i]) * m + v1[i];
    return r;
}
function ease(t, a, b, c, d) { return __fw_applyEase([0.33, 0, 0.667, 1], t, a, b, c, d); }
function easeIn(t, a, b, c, d) { return __fw_applyEase([0.333, 0, 0.833, 0.833], t, a, b, c, d); }
function easeOut(t, a, b, c, d) { return __fw_applyEase([0.167, 0.167, 0.667, 1], t, a, b, c, d); }

function framesToTime(f, fps) { return f / (fps || __fw_FR); }
function timeToFrames(t, fps) {
    if (!t && t !== 0) t = __fw_F / __fw_FR;
    return t * (fps || __fw_FR);
}

/* Smooth deterministic noise in -1..1: value noise over integer lattice points. */
function __fw_noise1(seed, x) {
    var i = Math.floor(x), f = x - i, a = __fw_hash(seed, i, 0) * 2 - 1, b = __fw_hash(seed, i + 1, 0) * 2 - 1;
    var u = f * f * (3 - 2 * f);
    return a + (b - a) * u;
}
function noise(v) { return __fw_noise1(7, __fw_isArr(v) ? v[0] : v); }

/* ---- paths ------------------------------------------------------------------------------------ */

/* A shape value: vertices, tangents relative to them, closed flag (points() etc. copy them out). */
function __FwPath(v, i, o, c) { this.__v = v; this.__i = i; this.__o = o; this.__c = !!c; }
__FwPath.prototype.points = function () { return this.__v.map(__fw_copy); };
__FwPath.prototype.inTangents = function () { return this.__i.map(__fw_copy); };
__FwPath.prototype.outTangents = function () { return this.__o.map(__fw_copy); };
__FwPath.prototype.isClosed = function () { return this.__c; };
__FwPath.prototype.__segs = function () {
    var n = this.__v.length, segs = [], total = 0, k, e, s, j, p0, c1, c2, p1, pts, len, prev, pt;
    for (k = 0; k < n; k++) {
        e = k + 1;
        if (e === n) { if (!this.__c) break; e = 0; }
        p0 = this.__v[k]; p1 = this.__v[e];
        c1 = [p0[0] + this.__o[k][0], p0[1] + this.__o[k][1]];
        c2 = [p1[0] + this.__i[e][0], p1[1] + this.__i[e][1]];
        pts = [p0]; len = [0]; prev = p0; s = 0;
        for (j = 1; j <= 64; j++) {
            pt = __fw_cubic(p0, c1, c2, p1, j / 64);
            s += Math.sqrt((pt[0] - prev[0]) * (pt[0] - prev[0]) + (pt[1] - prev[1]) * (pt[1] - prev[1]));
            pts.push(pt); len.push(s); prev = pt;
        }
        segs.push({pts: pts, len: len, total: s});
        total += s;
    }
    return {segs: segs, total: total};
};
function __fw_cubic(p0, c1, c2, p1, u) {
    var m = 1 - u, a = m * m * m, b = 3 * m * m * u, c = 3 * m * u * u, d = u * u * u;
    return [a * p0[0] + b * c1[0] + c * c2[0] + d * p1[0], a * p0[1] + b * c1[1] + c * c2[1] + d * p1[1]];
}
__FwPath.prototype.pointOnPath = function (perc) {
    var L = this.__segs(), want, acc = 0, k, s, j, f, n = this.__v.length;
    if (!n) return [0, 0];
    perc = +perc;
    want = L.total * (perc < 0 ? 0 : perc > 1 ? 1 : perc);
    for (k = 0; k < L.segs.length; k++) {
        s = L.segs[k];
        if (acc + s.total > want && s.total > 0) {
            for (j = 1; j < s.len.length; j++) {
                if (s.len[j] >= want - acc) {
                    f = (want - acc - s.len[j - 1]) / (s.len[j] - s.len[j - 1] || 1);
                    return [s.pts[j - 1][0] + (s.pts[j][0] - s.pts[j - 1][0]) * f,
                            s.pts[j - 1][1] + (s.pts[j][1] - s.pts[j - 1][1]) * f];
                }
            }
        }
        acc += s.total;
    }
    return this.__c ? __fw_copy(this.__v[0]) : __fw_copy(this.__v[n - 1]);
};
__FwPath.prototype.__vec = function (perc, normal) {
    perc = perc == 1 ? (this.__c ? 0 : 0.999) : +perc;
    var a = this.pointOnPath(perc), b = this.pointOnPath(perc + 0.001);
    var dx = b[0] - a[0], dy = b[1] - a[1], m = Math.sqrt(dx * dx + dy * dy);
    if (m === 0) return [0, 0];
    return normal ? [-dy / m, dx / m] : [dx / m, dy / m];
};
__FwPath.prototype.tangentOnPath = function (p) { return this.__vec(p, 0); };
__FwPath.prototype.normalOnPath = function (p) { return this.__vec(p, 1); };
function createPath(points, inT, outT, closed) {
    var v = [], i = [], o = [], k;
    for (k = 0; k < points.length; k++) {
        v.push([+points[k][0], +points[k][1]]);
        i.push(inT && inT[k] ? [+inT[k][0], +inT[k][1]] : [0, 0]);
        o.push(outT && outT[k] ? [+outT[k][0], +outT[k][1]] : [0, 0]);
    }
    return new __FwPath(v, i, o, closed);
}
function __fw_mkpath(b) { return b ? new __FwPath(b.v, b.i, b.o, b.c) : new __FwPath([], [], [], false); }

/* ---- properties --------------------------------------------------------------------------------- */

/* One animatable property: d = {id, dims, nkeys, path}; layer is its layer interface. */
function __FwProp(d, layer, parent, name, match, ix) {
    this.__id = d.id;
    this.__dims = d.dims;
    this.__isPath = !!d.path;
    this.numKeys = d.nkeys;
    this.__layer = layer;
    this.__parent = parent;
    this.name = name;
    this.matchName = match;
    this.propertyIndex = ix;
    this.__seed = d.id * 7919 + 17;
    this.__face = null;
    __fw_props[d.id] = this;
}
var __fw_P = __FwProp.prototype;
__fw_P.__now = function () { return __fw_F - this.__layer.__st; };
__fw_P.__at = function (f, x) {
    var v = __fw_val(this.__id, f, x);
    return this.__isPath ? __fw_mkpath(v) : v;
};
__fw_P.__keysAt = function (f) { return this.__at(f, 0); };
Object.defineProperty(__fw_P, 'value', { get: function () { return this.__at(this.__now(), 1); } });
Object.defineProperty(__fw_P, 'velocity', { get: function () { return this.velocityAtTime(__fw_F / __fw_FR); } });
Object.defineProperty(__fw_P, 'speed', { get: function () { return this.speedAtTime(__fw_F / __fw_FR); } });
__fw_P.valueAtTime = function (t) { return this.__at(t * __fw_FR - this.__layer.__st, 1); };
__fw_P.velocityAtTime = function (t) {
    var a = this.valueAtTime(t), b = this.valueAtTime(t - 0.001), r, i;
    if (!__fw_isArr(a)) return (a - b) / 0.001;
    r = [];
    for (i = 0; i < a.length; i++) r[i] = (a[i] - b[i]) / 0.001;
    return r;
};
__fw_P.speedAtTime = function (t) {
    var v = this.velocityAtTime(t);
    return __fw_isArr(v) ? length(v) : Math.abs(v);
};
__fw_P.propertyGroup = function (n) {
    var g = this, i;
    if (n === undefined) n = 1;
    for (i = 0; i < n && g; i++) g = g.__parent;
    return g;
};
__fw_P.__keyFrame = function (k) { return __fw_key(this.__id, k)[0]; };
__fw_P.key = function (i) {
    var k = __fw_key(this.__id, i - 1), v, r;
    if (!k) throw new Error('The property has no keyframe at index ' + i);
    v = k.slice(1);
    r = v.length === 1 ? new Number(v[0]) : v;
    r.time = k[0] / __fw_FR;
    r.value = v.length === 1 ? v[0] : v;
    r.index = i;
    return r;
};
__fw_P.nearestKey = function (t) {
    var n = this.numKeys, best = 1, bd = Infinity, k, d, f = t * __fw_FR - this.__layer.__st;
    if (!n) return {index: 0, time: 0};
    for (k = 0; k < n; k++) {
        d = Math.abs(this.__keyFrame(k) - f);
        if (d < bd) { bd = d; best = k + 1; }
    }
    return this.key(best);
};
function __fw_lin2(a, b, fa, fb) {
    /* (b - a) * fb + fa * a ... elementwise helper for loops: returns a * fa + b * fb */
    var r, i;
    if (!__fw_isArr(a)) return a * fa + b * fb;
    r = [];
    for (i = 0; i < a.length; i++) r[i] = a[i] * fa + b[i] * fb;
    return r;
}
/* loopOut/loopIn as lottie-web computes them, in layer-local frames. */
__fw_P.loopOut = function (type, dur, byTime) {
    var n = this.numKeys, cur = this.__now(), last, first, cd, it, init, end, c;
    type = type ? String(type).toLowerCase() : 'cycle';
    if (n < 2 || this.__isPath && type !== 'cycle' && type !== 'pingpong') return this.__keysAt(cur);
    last = this.__keyFrame(n - 1);
    if (cur <= last) return this.__keysAt(cur);
    if (!byTime) {
        if (!dur || dur > n - 1) dur = n - 1;
        first = this.__keyFrame(n - 1 - dur);
        cd = last - first;
    } else {
        cd = dur ? Math.abs(__fw_FR * dur) : Math.max(0, last - (this.__layer.__ip - this.__layer.__st));
        first = last - cd;
    }
    if (cd <= 0) return this.__keysAt(cur);
    if (type === 'pingpong') {
        it = Math.floor((cur - first) / cd);
        if (it % 2 !== 0) return this.__keysAt(cd - (cur - first) % cd + first);
    } else if (type === 'offset') {
        init = this.__keysAt(first);
        end = this.__keysAt(last);
        c = this.__keysAt((cur - first) % cd + first);
        it = Math.floor((cur - first) / cd);
        return sum(__fw_lin2(end, init, it, -it), c);
    } else if (type === 'continue') {
        end = this.__keysAt(last);
        init = this.__keysAt(last - 0.001);
        return __fw_lin2(end, __fw_lin2(end, init, 1, -1), 1, (cur - last) / 0.001);
    }
    return this.__keysAt((cur - first) % cd + first);
};
__fw_P.loopIn = function (type, dur, byTime) {
    var n = this.numKeys, cur = this.__now(), last, first, cd, it, init, end, c;
    type = type ? String(type).toLowerCase() : 'cycle';
    if (n < 2 || this.__isPath && type !== 'cycle' && type !== 'pingpong') return this.__keysAt(cur);
    first = this.__keyFrame(0);
    if (cur >= first) return this.__keysAt(cur);
    if (!byTime) {
        if (!dur || dur > n - 1) dur = n - 1;
        last = this.__keyFrame(dur);
        cd = last - first;
    } else {
        cd = dur ? Math.abs(__fw_FR * dur) : Math.max(0, (this.__layer.__op - this.__layer.__st) - first);
        last = first + cd;
    }
    if (cd <= 0) return this.__keysAt(cur);
    if (type === 'pingpong') {
        it = Math.floor((first - cur) / cd);
        if (it % 2 === 0) return this.__keysAt((first - cur) % cd + first);
    } else if (type === 'offset') {
        init = this.__keysAt(first);
        end = this.__keysAt(last);
        c = this.__keysAt(cd - (first - cur) % cd + first);
        it = Math.floor((first - cur) / cd) + 1;
        return sub(c, __fw_lin2(end, init, it, -it));
    } else if (type === 'continue') {
        init = this.__keysAt(first);
        end = this.__keysAt(first + 0.001);
        return __fw_lin2(init, __fw_lin2(init, end, 1, -1), 1, (first - cur) / 0.001);
    }
    return this.__keysAt(cd - (first - cur) % cd + first);
};
__fw_P.loopOutDuration = function (type, d) { return this.loopOut(type, d, true); };
__fw_P.loopInDuration = function (type, d) { return this.loopIn(type, d, true); };
/* wiggle(freq, amp, octaves, amp_mult, t): smooth noise per dimension, seeded by the property. */
__fw_P.wiggle = function (freq, amp, oct, mult, t) {
    var base, r, i, k, s, a, norm, f, one;
    if (t === undefined) t = __fw_F / __fw_FR;
    oct = oct === undefined ? 1 : Math.max(1, Math.min(16, Math.floor(oct)));
    mult = mult === undefined ? 0.5 : mult;
    base = this.__keysAt(t * __fw_FR - this.__layer.__st);
    one = !__fw_isArr(base);
    if (one) base = [base];
    r = [];
    for (i = 0; i < base.length; i++) {
        s = 0; a = 1; norm = 0; f = freq;
        for (k = 0; k < oct; k++) {
            s += a * __fw_noise1(this.__seed * 131 + i * 17 + k, t * f + k * 0.37);
            norm += a; a *= mult; f *= 2;
        }
        r[i] = base[i] + amp * (norm ? s / norm : 0);
    }
    return one ? r[0] : r;
};
__fw_P.smooth = function () { return this.value; };
/* The value as expressions see it: a number or an array carrying the property's methods. */
__fw_P.__face_names = ['valueAtTime', 'velocityAtTime', 'speedAtTime', 'propertyGroup', 'key', 'nearestKey',
    'loopOut', 'loopIn', 'loopOutDuration', 'loopInDuration', 'wiggle', 'smooth'];
__fw_P.__iface = function () {
    var v = this.value, f = this.__face, self = this, i;
    if (!f) {
        f = Object.create(this.__isPath ? __FwPath.prototype : __fw_isArr(v) ? Array.prototype : Number.prototype);
        for (i = 0; i < this.__face_names.length; i++)
            (function (nm) { f[nm] = function () { return self[nm].apply(self, arguments); }; })(this.__face_names[i]);
        Object.defineProperty(f, 'value', { get: function () { return self.value; } });
        Object.defineProperty(f, 'velocity', { get: function () { return self.velocity; } });
        Object.defineProperty(f, 'speed', { get: function () { return self.speed; } });
        f.numKeys = this.numKeys;
        f.name = this.name;
        f.matchName = this.matchName;
        f.propertyIndex = this.propertyIndex;
        f.__prop = this;
        this.__face = f;
    }
    if (this.__isPath) {
        Object.setPrototypeOf(v, f);
        return v;
    }
    if (!__fw_isArr(v)) v = new Number(v);
    Object.setPrototypeOf(v, f);
    return v;
};

/* The per-property scope of an expression: what thisProperty, loopOut, effect... resolve to. */
__fw_P.__env = function () {
    var P = this, L = this.__layer, E = {};
    E.thisProperty = P;
    E.thisLayer = L;
    E.thisComp = L.__comp;
    E.comp = function (name) { var i; for (i = 0; i < __fw_comps.length; i++) if (__fw_comps[i].name === name) return __fw_comps[i]; throw new Error('no composition ' + name); };
    E.content = L.content;
    E.effect = L.effect;
    E.mask = L.mask;
    E.transform = L.transform;
    E.anchorPoint = L.transform ? L.transform.anchorPoint : undefined;
    E.index = L.index;
    E.inPoint = L.inPoint;
    E.outPoint = L.outPoint;
    E.startTime = L.startTime;
    E.name = L.name;
    E.width = L.width;
    E.height = L.height;
    E.hasParent = L.hasParent;
    E.parent = L.parent;
    E.numKeys = P.numKeys;
    ['loopOut', 'loopIn', 'loopOutDuration', 'loopInDuration', 'valueAtTime', 'velocityAtTime', 'speedAtTime',
     'key', 'nearestKey', 'wiggle', 'smooth'].forEach(function (nm) {
        E[nm] = function () { return P[nm].apply(P, arguments); };
    });
    E.loop_out = E.loopOut;
    E.loop_in = E.loopIn;
    ['toComp', 'fromComp', 'toWorld', 'fromWorld'].forEach(function (nm) {
        E[nm] = function () { return L[nm].apply(L, arguments); };
    });
    E.fromCompToSurface = E.fromComp;
    E.seedRandom = function (s, timeless) { P.__rseed = s; P.__timeless = !!timeless; P.__rn = 0; };
    E.random = function (a, b) {
        var r = __fw_hash(P.__seed, P.__rseed * 1009 + (P.__timeless ? 0 : Math.round(__fw_F * 16)), P.__rn++);
        var i, out;
        if (a === undefined) return r;
        if (b === undefined) { b = a; a = __fw_isArr(b) ? b.map(function () { return 0; }) : 0; }
        if (!__fw_isArr(b)) return a + r * (b - a);
        out = [];
        for (i = 0; i < b.length; i++) out[i] = a[i] + r * (b[i] - a[i]);
        return out;
    };
    E.gaussRandom = function (a, b) {
        var u = Math.max(1e-12, E.random()), v = E.random();
        var g = Math.max(-1, Math.min(1, Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) / 3));
        if (a === undefined) return (g + 1) / 2;
        if (b === undefined) { b = a; a = 0; }
        return a + (b - a) * (g + 1) / 2;
    };
    E.lookAt = function (a, b) {
        var f = [b[0] - a[0], b[1] - a[1], (b[2] || 0) - (a[2] || 0)];
        return [-Math.atan2(f[1], f[2]) * 180 / Math.PI,
                Math.atan2(f[0], Math.sqrt(f[1] * f[1] + f[2] * f[2])) * 180 / Math.PI, 0];
    };
    E.posterizeTime = function () {};
    return E;
};
/* Called before each run of the property's expression. */
__fw_P.__begin = function () { this.__rseed = 0; this.__timeless = false; this.__rn = 0; };

/* The result of an expression as expr.c reads it: a number, an array of numbers or a path. */
function __fw_norm(r) {
    var i, o;
    if (r === undefined || r === null) return undefined;
    if (typeof r === 'number' || typeof r === 'boolean') return +r;
    if (r instanceof Number || r instanceof Boolean) return +r.valueOf();
    if (r instanceof __FwPath) return r;
    if (r instanceof __FwProp) return __fw_norm(r.value);
    if (typeof r === 'string') return parseFloat(r);
    if (__fw_isArr(r) || (typeof r === 'object' && typeof r.length === 'number')) {
        o = [];
        for (i = 0; i < r.length && i < 64; i++) o[i] = +r[i];
        return o;
    }
    return undefined;
}

/* ---- groups: callable interfaces that find their members by name, match name or index -------- */

function __fw_group(parent, name, match, ix) {
    var g = function (k) {
        var e = g.__find(k);
        if (!e) throw new Error('no property ' + k + ' in ' + name);
        return e();
    };
    g.__parent = parent;
    g.__members = [];
    Object.defineProperty(g, 'name', { value: name });
    g.matchName = match;
    g.propertyIndex = ix;
    g.__find = function (k) {
        var i, m;
        for (i = 0; i < g.__members.length; i++) {
            m = g.__members[i];
            if (m.keys.indexOf(k) >= 0) return m.get;
        }
        return null;
    };
    g.propertyGroup = function (n) {
        var x = g, i;
        if (n === undefined) n = 1;
        for (i = 0; i < n && x; i++) x = x.__parent;
        return x;
    };
    Object.defineProperty(g, 'numProperties', { get: function () { return g.__members.length; } });
    return g;
}
/* Adds a member found by keys (names, numbers); getter also becomes the property prop when given. */
function __fw_member(g, keys, get, prop) {
    g.__members.push({keys: keys.filter(function (k) { return k !== null && k !== undefined; }), get: get});
    if (prop) Object.defineProperty(g, prop, { get: get, configurable: true });
}
function __fw_propMember(g, desc, layer, keys, prop, ix) {
    if (!desc) return;
    var p = new __FwProp(desc, layer, g, keys[0], keys[1], ix);
    __fw_member(g, keys.concat([ix]), function () { return p.__iface(); }, prop);
}

/* The transform of a layer (shape: the group transform item). */
function __fw_transform(t, layer, parent, shape) {
    var g = __fw_group(parent, 'Transform', shape ? 'ADBE Vector Transform Group' : 'ADBE Transform Group', shape ? undefined : 2);
    var names = shape ?
        [['a', 'Anchor Point', 'ADBE Vector Anchor', 'anchorPoint', 1], ['p', 'Position', 'ADBE Vector Position', 'position', 2],
         ['s', 'Scale', 'ADBE Vector Scale', 'scale', 3], ['sk', 'Skew', 'ADBE Vector Skew', 'skew', 4],
         ['sa', 'Skew Axis', 'ADBE Vector Skew Axis', 'skewAxis', 5], ['r', 'Rotation', 'ADBE Vector Rotation', 'rotation', 6],
         ['o', 'Opacity', 'ADBE Vector Group Opacity', 'opacity', 7]] :
        [['a', 'Anchor Point', 'ADBE Anchor Point', 'anchorPoint', 1], ['s', 'Scale', 'ADBE Scale', 'scale', 6],
         ['r', 'Rotation', 'ADBE Rotate Z', 'rotation', 10], ['o', 'Opacity', 'ADBE Opacity', 'opacity', 11],
         ['sk', 'Skew', 'ADBE Skew', 'skew', 4], ['sa', 'Skew Axis', 'ADBE Skew Axis', 'skewAxis', 5],
         ['rx', 'X Rotation', 'ADBE Rotate X', 'xRotation', 8], ['ry', 'Y Rotation', 'ADBE Rotate Y', 'yRotation', 9]];
    names.forEach(function (n) {
        __fw_propMember(g, t[n[0]], layer, [n[1], n[2], n[3]], n[3], n[4]);
    });
    if (!shape) {
        if (t.split) {
            var px = new __FwProp(t.px, layer, g, 'X Position', 'ADBE Position_0', 2);
            var py = new __FwProp(t.py, layer, g, 'Y Position', 'ADBE Position_1', 2);
            var pos = function () { return [+px.value, +py.value]; };
            __fw_member(g, ['Position', 'ADBE Position', 'position', 2], pos, 'position');
            __fw_member(g, ['X Position', 'ADBE Position_0', 'xPosition'], function () { return px.__iface(); }, 'xPosition');
            __fw_member(g, ['Y Position', 'ADBE Position_1', 'yPosition'], function () { return py.__iface(); }, 'yPosition');
            g.__pos = function (f) { return [+px.__at(f - 0, 1), +py.__at(f, 1)]; };
        } else {
            var p = new __FwProp(t.p, layer, g, 'Position', 'ADBE Position', 2);
            __fw_member(g, ['Position', 'ADBE Position', 'position', 2], function () { return p.__iface(); }, 'position');
            __fw_member(g, ['X Position', 'xPosition'], function () { return p.value[0]; }, 'xPosition');
            __fw_member(g, ['Y Position', 'yPosition'], function () { return p.value[1]; }, 'yPosition');
            g.__pos = function (f) { return p.__at(f, 1); };
        }
        __fw_member(g, ['Z Rotation', 'zRotation'], function () { return g.rotation; }, 'zRotation');
        Object.defineProperty(g, 'orientation', { get: function () { return [0, 0, 0]; } });
    }
    g.__p = function (nm) { return g.__find(nm); };
    return g;
}

var __fw_shapeProps = {
    rc: [['s', 'Size', 'ADBE Vector Rect Size', 'size', 2], ['p', 'Position', 'ADBE Vector Rect Position', 'position', 3],
         ['r', 'Roundness', 'ADBE Vector Rect Roundness', 'roundness', 4]],
    el: [['s', 'Size', 'ADBE Vector Ellipse Size', 'size', 2], ['p', 'Position', 'ADBE Vector Ellipse Position', 'position', 3]],
    sr: [['pt', 'Points', 'ADBE Vector Star Points', 'points', 3], ['p', 'Position', 'ADBE Vector Star Position', 'position', 4],
         ['r', 'Rotation', 'ADBE Vector Star Rotation', 'rotation', 5], ['ir', 'Inner Radius', 'ADBE Vector Star Inner Radius', 'innerRadius', 6],
         ['or', 'Outer Radius', 'ADBE Vector Star Outer Radius', 'outerRadius', 7],
         ['is', 'Inner Roundness', 'ADBE Vector Star Inner Roundess', 'innerRoundness', 8],
         ['os', 'Outer Roundness', 'ADBE Vector Star Outer Roundess', 'outerRoundness', 9]],
    fl: [['c', 'Color', 'ADBE Vector Fill Color', 'color', 4], ['o', 'Opacity', 'ADBE Vector Fill Opacity', 'opacity', 5]],
    st: [['c', 'Color', 'ADBE Vector Stroke Color', 'color', 3], ['o', 'Opacity', 'ADBE Vector Stroke Opacity', 'opacity', 4],
         ['w', 'Stroke Width', 'ADBE Vector Stroke Width', 'strokeWidth', 5]],
    gf: [['o', 'Opacity', 'ADBE Vector Grad Opacity', 'opacity', 5], ['gs', 'Start Point', 'ADBE Vector Grad Start Pt', 'startPoint', 3],
         ['ge', 'End Point', 'ADBE Vector Grad End Pt', 'endPoint', 4]],
    gs: [['o', 'Opacity', 'ADBE Vector Grad Opacity', 'opacity', 5], ['w', 'Stroke Width', 'ADBE Vector Stroke Width', 'strokeWidth', 8],
         ['gs', 'Start Point', 'ADBE Vector Grad Start Pt', 'startPoint', 3], ['ge', 'End Point', 'ADBE Vector Grad End Pt', 'endPoint', 4]],
    tm: [['ts', 'Start', 'ADBE Vector Trim Start', 'start', 1], ['te', 'End', 'ADBE Vector Trim End', 'end', 2],
         ['to', 'Offset', 'ADBE Vector Trim Offset', 'offset', 3]],
    rp: [['copies', 'Copies', 'ADBE Vector Repeater Copies', 'copies', 1], ['offset', 'Offset', 'ADBE Vector Repeater Offset', 'offset', 2]],
    rd: [['r', 'Radius', 'ADBE Vector RoundCorner Radius', 'radius', 1]],
    sh: [['path', 'Path', 'ADBE Vector Shape', 'path', 2]]
};

/* A content list (layer root or a group's contents) of shape descriptions. */
function __fw_contents(items, layer, parent, match) {
    var g = __fw_group(parent, 'Contents', match, 2), n = 0;
    items.forEach(function (d) {
        if (d.ty === 'tr') return;
        n += 1;
        var it = __fw_shapeItem(d, layer, g, n);
        __fw_member(g, [d.name, d.match, n], function () { return it; });
    });
    g.content = function (k) { return g(k); };
    return g;
}
function __fw_shapeItem(d, layer, parent, ix) {
    var g = __fw_group(parent, d.name, d.match, ix), i, tr = null;
    if (d.ty === 'gr') {
        var c = __fw_contents(d.items || [], layer, g, 'ADBE Vectors Group');
        for (i = 0; i < (d.items || []).length; i++)
            if (d.items[i].ty === 'tr') tr = d.items[i].tr;
        if (!tr) tr = d.tr;
        var t = tr ? __fw_transform(tr, layer, g, true) : null;
        __fw_member(g, ['ADBE Vectors Group', 'Contents', 2], function () { return c; });
        __fw_member(g, ['ADBE Vector Transform Group', 'Transform', 'transform', 3], function () { return t; }, 'transform');
        g.content = function (k) { return c(k); };
        return g;
    }
    (__fw_shapeProps[d.ty] || []).forEach(function (n) {
        __fw_propMember(g, d[n[0]], layer, [n[1], n[2], n[3]], n[3], n[4]);
    });
    if (d.ty === 'sh') __fw_member(g, ['Shape', 'shape', 'path'], function () { return g.path; });
    if (d.ty === 'rp' && d.tr) {
        var rt = __fw_transform(d.tr, layer, g, true);
        __fw_member(g, ['Transform', 'transform'], function () { return rt; }, 'transform');
    }
    return g;
}

/* ---- layers and compositions ------------------------------------------------------------------ */

function __fw_mat(L, f) {
    /* The layer's matrix at layer-local frame f: translate(p) rotate(r) scale(s) translate(-a). */
    var T = L.transform, a = T.__p('anchorPoint'), s = T.__p('scale'), r = T.__p('rotation');
    var av = a ? a().__prop.__at(f, 1) : [0, 0], sv = s ? s().__prop.__at(f, 1) : [100, 100];
    var rv = r ? +r().__prop.__at(f, 1) : 0, pv = T.__pos(f);
    var c = Math.cos(rv * Math.PI / 180), sn = Math.sin(rv * Math.PI / 180), sx = sv[0] / 100, sy = sv[1] / 100;
    var xx = c * sx, yx = sn * sx, xy = -sn * sy, yy = c * sy;
    return [xx, yx, xy, yy, pv[0] - (xx * av[0] + xy * av[1]), pv[1] - (yx * av[0] + yy * av[1])];
}
function __fw_layerPoint(L, pt, t, inverse) {
    var chain = [], x = L, out, m, i, X, Y, det;
    while (x && chain.length < 64) { chain.push(x); x = x.__parentLayer; }
    if (!inverse) chain.reverse();
    X = +pt[0]; Y = +pt[1];
    for (i = chain.length - 1; i >= 0; i--) {
        m = __fw_mat(chain[i], t * __fw_FR - chain[i].__st);
        if (!inverse) {
            out = [m[0] * X + m[2] * Y + m[4], m[1] * X + m[3] * Y + m[5]];
        } else {
            det = m[0] * m[3] - m[1] * m[2];
            if (det === 0) return [0, 0];
            X -= m[4]; Y -= m[5];
            out = [(m[3] * X - m[2] * Y) / det, (-m[1] * X + m[0] * Y) / det];
        }
        X = out[0]; Y = out[1];
    }
    return pt.length > 2 ? [X, Y, pt[2]] : [X, Y];
}

function __fw_layer(d, comp) {
    var L = __fw_group(comp, d.name, 'ADBE Layer', d.index);
    var fr = __fw_FR;
    L.__st = 0; /* keyframe times are the composition's frames, as `frame` is */
    L.__ip = d.ip;
    L.__op = d.op;
    L.__comp = comp;
    L.index = d.index;
    L.inPoint = d.ip / fr;
    L.outPoint = d.op / fr;
    L.startTime = d.st / fr;
    L.width = d.w;
    L.height = d.h;
    L.hasParent = d.parent >= 0;
    L.__parentIndex = d.parent;
    L.active = true;
    L.enabled = true;
    L.transform = __fw_transform(d.transform, L, L, false);
    L.content = __fw_contents(d.shapes || [], L, L, 'ADBE Root Vectors Group');
    var ef = __fw_group(L, 'Effects', 'ADBE Effect Parade', 4);
    (d.effects || []).forEach(function (e, i) {
        var eg = __fw_group(ef, e.name, e.match, i + 1);
        (e.values || []).forEach(function (v, k) {
            __fw_propMember(eg, v.prop, L, [v.name, v.match], null, k + 1);
        });
        eg.param = function (k) { return eg(k); };
        __fw_member(ef, [e.name, e.match, i + 1], function () { return eg; });
    });
    L.effect = ef;
    var mk = __fw_group(L, 'Masks', 'ADBE Mask Parade', 3);
    (d.masks || []).forEach(function (m, i) {
        var mg = __fw_group(mk, 'Mask ' + (i + 1), 'ADBE Mask Atom', i + 1);
        __fw_propMember(mg, m.path, L, ['Mask Path', 'ADBE Mask Shape', 'maskPath'], 'maskPath', 1);
        __fw_propMember(mg, m.o, L, ['Mask Opacity', 'ADBE Mask Opacity', 'maskOpacity'], 'maskOpacity', 3);
        __fw_propMember(mg, m.x, L, ['Mask Expansion', 'ADBE Mask Offset', 'maskExpansion'], 'maskExpansion', 4);
        __fw_member(mk, ['Mask ' + (i + 1), i + 1], function () { return mg; });
    });
    L.mask = mk;
    if (d.tm) __fw_propMember(L, d.tm, L, ['Time Remap', 'ADBE Time Remapping', 'timeRemap'], 'timeRemap', 5);
    __fw_member(L, ['ADBE Root Vectors Group', 'Contents', 'content', 2], function () { return L.content; });
    __fw_member(L, ['ADBE Transform Group', 'Transform', 'transform', 1, 6], function () { return L.transform; });
    __fw_member(L, ['ADBE Effect Parade', 'Effects', 'effects', 4], function () { return L.effect; });
    __fw_member(L, ['ADBE Mask Parade', 'Masks', 'masks', 3], function () { return L.mask; });
    ['anchorPoint', 'position', 'scale', 'rotation', 'opacity'].forEach(function (nm) {
        Object.defineProperty(L, nm, { get: function () { return L.transform[nm]; } });
    });
    Object.defineProperty(L, 'parent', { get: function () { return L.__parentLayer; } });
    L.toComp = function (pt, t) { return __fw_layerPoint(L, pt, t === undefined ? __fw_F / __fw_FR : t, false); };
    L.toWorld = L.toComp;
    L.fromComp = function (pt, t) { return __fw_layerPoint(L, pt, t === undefined ? __fw_F / __fw_FR : t, true); };
    L.fromWorld = L.fromComp;
    L.sourceRectAtTime = function () { return {top: 0, left: 0, width: d.w, height: d.h}; };
    return L;
}

function __fw_orphans(d, L) {
    var k;
    if (!d || typeof d !== 'object') return;
    if (typeof d.id === 'number' && typeof d.nkeys === 'number') {
        if (!__fw_props[d.id]) new __FwProp(d, L, L, '', '', 0);
        return;
    }
    for (k in d) __fw_orphans(d[k], L);
}

function __fw_comp(d) {
    var C = {}, layers;
    C.name = d.name;
    C.width = d.w;
    C.height = d.h;
    C.duration = d.dur;
    C.frameDuration = 1 / __fw_FR;
    C.displayStartTime = 0;
    C.pixelAspect = 1;
    layers = d.layers.map(function (l) { return __fw_layer(l, C); });
    layers.forEach(function (L) { L.__parentLayer = L.__parentIndex >= 0 ? layers[L.__parentIndex] : null; });
    /* Properties no interface names (dashes, gradient stops, ...) still need a scope for their
     * own expressions. */
    layers.forEach(function (L, i) { __fw_orphans(d.layers[i], L); });
    C.numLayers = layers.length;
    C.layer = function (k) {
        var i;
        for (i = 0; i < layers.length; i++)
            if (layers[i].name === k) return layers[i];
        if (typeof k === 'number')
            for (i = 0; i < layers.length; i++)
                if (layers[i].index === k) return layers[i];
        throw new Error('no layer ' + k + ' in ' + d.name);
    };
    return C;
}

function __fw_build(comps, fr) {
    __fw_FR = fr;
    __fw_comps = comps.map(__fw_comp);
}
