"""c_proto_methods: the gRPC method table of some .proto files, as C.

protoc writes a FileDescriptorSet; gen_methods.py turns its services into a
table of fw_rpc_method (see rpc_method.h), SYMBOL[] and SYMBOL_count, in NAME.h
and NAME.c. c_dep is the c_proto_library of the same files.
"""

def c_proto_methods(name, srcs, c_dep, symbol, visibility = None):
    native.genrule(
        name = name + "_generate",
        srcs = srcs,
        outs = [name + ".h", name + ".c"],
        tools = ["//proto/tools:gen_methods.py"],
        cmd = "protoc --proto_path=. --proto_path=/usr/include " +
              "--descriptor_set_out=$(RULEDIR)/" + name + ".descriptor_set $(SRCS) && " +
              "/usr/bin/python3 $(location //proto/tools:gen_methods.py) " +
              "$(RULEDIR)/" + name + ".descriptor_set " + symbol + " " +
              "$(location " + name + ".h) $(location " + name + ".c) $(SRCS) && " +
              "rm -f $(RULEDIR)/" + name + ".descriptor_set",
    )
    native.cc_library(
        name = name,
        srcs = [name + ".c"],
        hdrs = [name + ".h"],
        deps = [c_dep, "//proto/tools:rpc_method"],
        visibility = visibility,
    )
