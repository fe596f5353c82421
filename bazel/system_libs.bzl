"""The system libraries Framewright links, each from a Debian package."""

load("//bazel:pkg_config.bzl", "pkg_config_library")

# name -> pkg-config modules. bazel/BUILD gives each one a target.
SYSTEM_LIBRARIES = {
    "avcodec": ["libavcodec"],
    "avformat": ["libavformat"],
    "avutil": ["libavutil"],
    "swscale": ["libswscale"],
    "swresample": ["libswresample"],
    "cairo": ["cairo"],
    "curl": ["libcurl"],
    "duktape": ["duktape"],
    "fontconfig": ["fontconfig"],
    "freetype": ["freetype2"],
    "fribidi": ["fribidi"],
    "grpc": ["grpc"],
    "harfbuzz": ["harfbuzz"],
    "icu": ["icu-uc"],
    "jansson": ["jansson"],
    "libpq": ["libpq"],
    "libzip": ["libzip"],
    "microhttpd": ["libmicrohttpd"],
    "openssl": ["openssl"],
    "protobuf_c": ["libprotobuf-c"],
    "rlottie": ["rlottie"],
    "sqlite": ["sqlite3"],
    "zlib": ["zlib"],
}

def system_libraries():
    for name, modules in SYSTEM_LIBRARIES.items():
        pkg_config_library(name = "sys_" + name, modules = modules)
