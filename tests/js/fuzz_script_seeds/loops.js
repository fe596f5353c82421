for (var i = 0; i < 10; i++) { composition.layers.push({ty: 3, nm: 'n' + i}); }
function f(a) { return a > 0 ? f(a - 1) : 0; }
f(50);
