/*
 * expr.h - After Effects expressions for the Cairo engine, on Duktape.
 *
 * lt_expr_attach() gives a document one JavaScript heap, builds there the
 * interfaces expressions reach (thisComp, layers, transforms, effects,
 * shape contents, masks; the subset lottie-web's ExpressionManager offers),
 * compiles every property's expression once and installs the evaluation
 * hooks of model.h, so lt_prop_eval() and lt_path_prop_eval() return the
 * expressions' results. An expression that does not compile or throws at
 * frame 0 stays static (its keyframes) and is named through
 * lt_doc_unsupported().
 *
 * Templates come from users, so an expression is bounded: its loops and
 * function entries are instrumented with a budget check (Debian's Duktape
 * has no execution timeout), it may not use eval, Function or `with`, and
 * the heap has a memory cap. An expression that runs out of time or memory
 * is switched off for the rest of the render.
 */
#ifndef FW_RENDER_CAIRO_EXPR_H
#define FW_RENDER_CAIRO_EXPR_H

#include "server/render/cairo/model.h"
#include "server/util/error.h"

/* Limits of one document's expressions. */
#define LT_EXPR_MEMORY_CAP (64u << 20) /* bytes of JavaScript heap */
#define LT_EXPR_TIME_LIMIT_MS 250      /* wall time of one evaluation (with what it reads) */
#define LT_EXPR_TICK_LIMIT 2000000     /* loop iterations and calls of one evaluation */

/* Compiles the document's expressions into doc->expr_env and sets lt_expr_eval_hook and
 * lt_expr_path_hook. Expressions that fail are reported and left static; FW_ERR_* only when the
 * JavaScript heap itself cannot be set up. A document without expressions gets no heap. */
fw_err lt_expr_attach(lt_doc *doc, fw_error *err);

/* Frees the heap and every compiled expression; props fall back to their keyframes. */
void lt_expr_detach(lt_doc *doc);

/* Expressions compiled and active (those that failed at attach are not counted). */
int lt_expr_count(const lt_doc *doc);

/* Rewrites an expression so every loop condition and function entry calls the budget check
 * __fw_tick(). Rejects what the check cannot see (regular expression literals, escapes outside
 * strings, `with`, unbalanced brackets). Returns a malloc'd string, or NULL with the reason in why. */
char *lt_expr_guard_source(const char *src, char *why, size_t why_len);

#endif
