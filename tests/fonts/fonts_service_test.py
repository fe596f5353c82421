"""fonts_service_test.py - FontService through `framewright serve` and
Python's grpcio: a real font uploaded and named from its own tables, jobs
whose templates need it render with it, fonts nobody has are listed in
missingFonts, and a font in use by a queued job cannot be deleted."""

import json
import os
import sys

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "secrets"))
import teamio  # noqa: E402

fwe2e = teamio.setup()
T = fwe2e.Checks()
RENDER_TIMEOUT = 300
SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def template_needing(font_name, family):
    """The hello template with its text set in another font."""
    doc = json.loads(fwe2e.hello_template())
    old = doc["fonts"]["list"][0]["fName"]
    doc["fonts"]["list"][0].update({"fName": font_name, "fFamily": family, "fStyle": "Book"})
    text = json.dumps(doc).replace('"f": "%s"' % old, '"f": "%s"' % font_name)
    text = text.replace('"f":"%s"' % old, '"f":"%s"' % font_name)
    return text.encode()


def upload(c, fonts_api, fpb, name, data):
    return fonts_api.UploadFont(fpb.UploadFontRequest(file_name=name, data=data), metadata=c.md(), timeout=60)


def fonts_api_case(c):
    _, _, fpb, fonts = teamio.services(c)
    with open(SERIF, "rb") as f:
        data = f.read()
    font = upload(c, fonts, fpb, "DejaVuSerif.ttf", data)
    T.check("UploadFont reads the family from the file", font.family_name == "DejaVu Serif", font)
    T.check("UploadFont reads the PostScript name", font.postscript_name == "DejaVuSerif", font.postscript_name)
    T.check("UploadFont keeps file name and size", font.file_name == "DejaVuSerif.ttf" and font.size == len(data))
    for name, blob, why in (("bad.ttf", b"not a font at all" * 10, "not a font"), ("../x.ttf", data, "a path"),
                            ("notes.txt", data, "not a font extension"), ("empty.ttf", b"", "empty")):
        try:
            upload(c, fonts, fpb, name, blob)
            T.check("UploadFont refuses %s" % why, False)
        except grpc.RpcError as e:
            T.check("UploadFont refuses %s: INVALID_ARGUMENT" % why,
                    e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.details())
    try:
        upload(c, fonts, fpb, "DejaVuSerif.ttf", data)
        T.check("the same file name twice is refused", False)
    except grpc.RpcError as e:
        T.check("the same file name twice: ALREADY_EXISTS", e.code() == grpc.StatusCode.ALREADY_EXISTS, e)
    lst = fonts.ListFonts(fpb.ListFontsRequest(), metadata=c.md(), timeout=30)
    T.check("ListFonts shows family 'DejaVu Serif'", [f.family_name for f in lst.fonts] == ["DejaVu Serif"], lst)
    got = fonts.GetFont(fpb.GetFontRequest(id=font.id), metadata=c.md(), timeout=30)
    T.check("GetFont answers the font", got.id == font.id and got.style == "Book", got)
    return font


def render_with_font(c):
    t = c.upload_template(template_needing("DejaVuSerif", "DejaVu Serif"))
    job = c.create_job({"template": {"id": t.id}, "assets": fwe2e.hello_assets(),
                        "settings": {"type": "image", "frames": 10, "codec": "image_png"}})
    T.check("a template needing DejaVuSerif: no missingFonts at creation", list(job.missing_fonts) == [],
            list(job.missing_fonts))
    got = c.wait_status(job.id, ("finished", "error"), RENDER_TIMEOUT)
    T.check("it renders", got.status == "finished", got.stats.error.value)
    T.check("it rendered with the font (no missingFonts after the render)", list(got.missing_fonts) == [],
            list(got.missing_fonts))

    t2 = c.upload_template(template_needing("NoSuch", "No Such Family"))
    job2 = c.create_job({"template": {"id": t2.id}, "assets": fwe2e.hello_assets(), "fonts": ["Missing.ttf"],
                         "settings": {"type": "image", "frames": 10, "codec": "image_png"}})
    T.check("a template needing NoSuch lists it in missingFonts",
            list(job2.missing_fonts) == ["Missing.ttf", "NoSuch"], list(job2.missing_fonts))
    got2 = c.wait_status(job2.id, ("finished", "error"), RENDER_TIMEOUT)
    T.check("the renderer reports the font it did not have", "NoSuch" in list(got2.missing_fonts),
            (got2.status, list(got2.missing_fonts)))
    job3 = c.create_job({"template": {"id": t2.id}, "assets": fwe2e.hello_assets(), "fonts": ["dejavu serif"],
                         "settings": {"type": "image", "frames": 10, "codec": "image_png"}})
    T.check("a job font matched by family ignoring case is not missing", list(job3.missing_fonts) == ["NoSuch"],
            list(job3.missing_fonts))


def machine_fonts(c):
    """Fonts nobody uploaded: the machine's face when it has the family (not
    missing), its stand-in when it has not (missing, and the details say
    which face stands in)."""
    settings = {"type": "image", "frames": 10, "codec": "image_png"}
    t = c.upload_template(template_needing("DejaVuSansMono", "DejaVu Sans Mono"))
    match = t.details.fonts[0].match
    T.check("a machine's font: the details name its face", (match.source, match.family, match.exact) ==
            ("machine", "DejaVu Sans Mono", True), str(match))
    job = c.create_job({"template": {"id": t.id}, "assets": fwe2e.hello_assets(), "settings": settings})
    T.check("a machine's font is not missing at creation", list(job.missing_fonts) == [], list(job.missing_fonts))
    got = c.wait_status(job.id, ("finished", "error"), RENDER_TIMEOUT)
    T.check("nor after the render", got.status == "finished" and list(got.missing_fonts) == [],
            (got.status, list(got.missing_fonts)))

    t2 = c.upload_template(template_needing("Arial-BoldMT", "Arial"))  # style Book: the regular face
    match = t2.details.fonts[0].match
    T.check("Arial: the details name its metric-compatible stand-in",
            (match.source, match.family, match.exact) == ("machine", "Liberation Sans", False), str(match))
    job2 = c.create_job({"template": {"id": t2.id}, "assets": fwe2e.hello_assets(), "settings": settings})
    T.check("a stand-in font is missing at creation", list(job2.missing_fonts) == ["Arial-BoldMT"],
            list(job2.missing_fonts))
    got2 = c.wait_status(job2.id, ("finished", "error"), RENDER_TIMEOUT)
    T.check("and after the render", got2.status == "finished" and list(got2.missing_fonts) == ["Arial-BoldMT"],
            (got2.status, list(got2.missing_fonts)))
    for when, j in (("at creation", job2), ("after the render", got2)):
        subs = [(s.font, s.family, s.style, s.synthetic_bold) for s in j.font_substitutes]
        T.check("what stands in for Arial is said %s" % when,
                subs == [("Arial-BoldMT", "Liberation Sans", "Regular", False)], subs)


def delete_while_used(idle):
    c = fwe2e.Client(idle.grpc, idle.key)
    try:
        _, _, fpb, fonts = teamio.services(c)
        with open(SERIF, "rb") as f:
            font = upload(c, fonts, fpb, "DejaVuSerif.ttf", f.read())
        t = c.upload_template(template_needing("DejaVuSerif", "DejaVu Serif"))
        job = c.create_job({"template": {"id": t.id}, "assets": fwe2e.hello_assets()})
        try:
            fonts.DeleteFont(fpb.GetFontRequest(id=font.id), metadata=c.md(), timeout=30)
            T.check("DeleteFont is refused while a queued job uses the font", False)
        except grpc.RpcError as e:
            T.check("DeleteFont while used: FAILED_PRECONDITION naming the job",
                    e.code() == grpc.StatusCode.FAILED_PRECONDITION and job.id in e.details(), e.details())
        c.jobs.CancelJob(c.job_pb2.CancelJobRequest(id=job.id), metadata=c.md(), timeout=30)
        fonts.DeleteFont(fpb.GetFontRequest(id=font.id), metadata=c.md(), timeout=30)
        lst = fonts.ListFonts(fpb.ListFontsRequest(), metadata=c.md(), timeout=30)
        T.check("after the job is cancelled the font can be deleted", len(lst.fonts) == 0, lst)
        try:
            fonts.GetFont(fpb.GetFontRequest(id=font.id), metadata=c.md(), timeout=30)
            T.check("a deleted font is gone", False)
        except grpc.RpcError as e:
            T.check("a deleted font is NOT_FOUND", e.code() == grpc.StatusCode.NOT_FOUND, e)
    finally:
        c.close()


def main():
    if not os.path.exists(SERIF):
        T.skip("fonts", SERIF + " is missing (Debian's fonts-dejavu-core)")
        return T.end()
    srv = fwe2e.Server(workers=1)
    idle = None
    c = None
    try:
        c = fwe2e.Client(srv.grpc, srv.key)
        T.case("font API", fonts_api_case, c)
        T.case("render with an uploaded font", render_with_font, c)
        T.case("the machine's fonts", machine_fonts, c)
        idle = fwe2e.Server(workers=0, name="serve-idle")
        T.case("delete while used", delete_while_used, idle)
    finally:
        if c:
            c.close()
        T.check("serve stops cleanly", srv.stop() == 0)
        if idle:
            T.check("idle serve stops cleanly", idle.stop() == 0)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
