"""c_proto_library: C code generated from .proto files by protoc-c, at build time.

The generated files are never checked in. Well-known types the protos import
(google/protobuf/*.proto from Debian's protobuf-compiler) are generated too,
under a wkt/ prefix that is stripped from their include path, so the
generated code's own `#include "google/protobuf/struct.pb-c.h"` works.
"""

def c_proto_library(name, srcs, well_known_types = [], deps = [], visibility = None):
    base = [s[:-len(".proto")] for s in srcs]
    native.genrule(
        name = name + "_generate",
        srcs = srcs,
        outs = [b + ".pb-c.c" for b in base] + [b + ".pb-c.h" for b in base],
        cmd = "protoc-c --proto_path=. --proto_path=/usr/include --c_out=$(GENDIR) $(SRCS)",
    )
    wkt_deps = []
    if well_known_types:
        wkt_base = ["wkt/google/protobuf/" + w for w in well_known_types]
        native.genrule(
            name = name + "_generate_wkt",
            outs = [w + ".pb-c.c" for w in wkt_base] + [w + ".pb-c.h" for w in wkt_base],
            cmd = "protoc-c --proto_path=/usr/include --c_out=$(RULEDIR)/wkt " +
                  " ".join(["google/protobuf/%s.proto" % w for w in well_known_types]),
        )
        native.cc_library(
            name = name + "_wkt",
            srcs = [w + ".pb-c.c" for w in wkt_base],
            hdrs = [w + ".pb-c.h" for w in wkt_base],
            strip_include_prefix = "wkt",
            copts = ["-w"],
            deps = ["//bazel:protobuf_c"],
        )
        wkt_deps = [":" + name + "_wkt"]
    native.cc_library(
        name = name,
        srcs = [b + ".pb-c.c" for b in base],
        hdrs = [b + ".pb-c.h" for b in base],
        copts = ["-w"],
        deps = deps + wkt_deps + ["//bazel:protobuf_c"],
        visibility = visibility,
    )
