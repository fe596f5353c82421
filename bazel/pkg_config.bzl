"""pkg_config_library: a repository holding one cc_library for a system library.

The repository asks pkg-config for the library's flags when Bazel first needs
it: -I folders become symlinked include folders (so headers stay visible to the
sandbox and are passed as -isystem), -D flags become defines, the rest of the
compile flags and all link flags are kept as they are.
"""

def _pkg_config(ctx, args):
    tool = ctx.which("pkg-config")
    if not tool:
        fail("pkg-config is missing: run bazel/setup.sh")
    result = ctx.execute([tool] + args)
    if result.return_code != 0:
        fail("pkg-config %s failed (run bazel/setup.sh): %s" % (" ".join(args), result.stderr))
    return [f for f in result.stdout.replace("\n", " ").split(" ") if f]

def _pkg_config_library_impl(ctx):
    modules = ctx.attr.modules
    cflags = _pkg_config(ctx, ["--cflags"] + modules) if modules else []
    libs = _pkg_config(ctx, ["--libs"] + modules) if modules else []
    includes = []
    defines = []
    copts = []
    for flag in cflags:
        if flag.startswith("-I"):
            folder = flag[2:]
            if folder in ["/usr/include", "/usr/local/include", "/usr/include/x86_64-linux-gnu"]:
                continue
            name = "include%d" % len(includes)
            ctx.symlink(folder, name)
            includes.append(name)
        elif flag.startswith("-D"):
            defines.append(flag[2:])
        else:
            copts.append(flag)
    for folder in ctx.attr.include_dirs:
        name = "include%d" % len(includes)
        ctx.symlink(folder, name)
        includes.append(name)
    linkopts = libs + ctx.attr.extra_linkopts
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD", """
cc_library(
    name = "lib",
    hdrs = glob([{globs}], allow_empty = True),
    includes = {includes},
    defines = {defines},
    copts = {copts},
    linkopts = {linkopts},
    visibility = ["//visibility:public"],
)
""".format(
        globs = ", ".join(['"%s/**/*.h"' % i for i in includes]),
        includes = repr(includes),
        defines = repr(defines),
        copts = repr(copts),
        linkopts = repr(linkopts),
    ))

pkg_config_library = repository_rule(
    implementation = _pkg_config_library_impl,
    local = True,
    attrs = {
        "modules": attr.string_list(doc = "pkg-config module names"),
        "include_dirs": attr.string_list(doc = "extra absolute include folders"),
        "extra_linkopts": attr.string_list(doc = "link flags pkg-config does not give"),
    },
)
