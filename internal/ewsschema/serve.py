# A long-lived EWS schema validator for the tests of one Go test binary.
#
# testdata/ews-schema/validate compiles the whole EWS schema with xmllint for
# every file it checks (1-2 s on a busy machine); the tests validate hundreds
# of envelopes. This server compiles the schema once with lxml (the same
# libxml2 and the same XSD validator that xmllint runs) and then validates
# request after request. Envelopes are cut into their Header/Body children by
# the validator's own extract(), so what is checked, and how strictly, is the
# same as the script's; only the xmllint run is replaced.
#
# Usage: python3 -c SOURCE VALIDATE_SCRIPT
# Protocol (one JSON object per line each way):
#   first line out: {"ready": true} or {"ready": false, "missing": bool, "error": str}
#   in:  {"files": [{"label": "name.xml", "data": base64}, ...]}
#   out: {"failed": N, "report": "the script's -q report, with its summary"}
import base64
import importlib.machinery
import importlib.util
import json
import re
import sys


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def load_script(path):
    loader = importlib.machinery.SourceFileLoader("ews_validate", path)
    spec = importlib.util.spec_from_loader("ews_validate", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def check_items(etree, schema, items, label):
    """Fill in status and message of every item that needs the schema,
    worded as the script's run_xmllint words xmllint's output."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    for it in items:
        if it.status is not None:
            continue
        errors = []
        try:
            doc = etree.fromstring(it.text, parser)
        except etree.XMLSyntaxError as exc:
            errors = ["%s:%d: parser error : %s" % (
                label, it.line + (exc.lineno or 1) - 1, exc.msg)]
        else:
            valid = schema.validate(doc)
            # Like the script: any line from the validator is a failure.
            for e in schema.error_log:
                errors.append("%s:%d: element %s: Schemas validity %s : %s" % (
                    label, it.line + e.line - 1, local_name(e.path),
                    e.level_name.lower(), e.message))
            if not valid and not errors:
                errors = ["xmllint reported a failure"]
        if errors:
            it.status = "FAIL"
            it.message = " | ".join(re.sub(r"\s+", " ", e).strip()
                                    for e in errors)
        else:
            it.status = "OK"


def local_name(path):
    """'/m:A/t:B[2]' -> 'B', the name xmllint puts after 'element'."""
    step = (path or "").rsplit("/", 1)[-1]
    return step.split("[", 1)[0].rsplit(":", 1)[-1]


def report(validate, etree, schema, files):
    """The script's main() for a list of (label, bytes), quiet."""
    lines = []
    failed = 0
    counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
    for label, raw in files:
        items, error = validate.extract(raw)
        if error:
            lines.append("FAIL  %s: %s" % (label, error))
            failed += 1
            counts["FAIL"] += 1
            continue
        check_items(etree, schema, items, label)
        items.sort(key=lambda it: (it.env, it.line))
        for it in items:
            counts[it.status] += 1
            if it.status == "FAIL":
                failed += 1
            if it.status == "OK":
                continue
            head = "%-5s %s#%d %s %s" % (it.status, label, it.env, it.part,
                                         it.qname)
            if it.message:
                head += ": " + it.message
            lines.append(head)
    lines.append("summary: %d OK, %d FAIL, %d SKIP" % (
        counts["OK"], counts["FAIL"], counts["SKIP"]))
    return failed, "\n".join(lines) + "\n"


def main():
    try:
        from lxml import etree
    except ImportError as exc:
        send({"ready": False, "missing": True, "error": str(exc)})
        return
    try:
        validate = load_script(sys.argv[1])
        schema = etree.XMLSchema(etree.parse(
            validate.DRIVER_SCHEMA, etree.XMLParser(no_network=True)))
    except Exception as exc:  # the schema must compile: report why not
        send({"ready": False, "missing": False, "error": repr(exc)})
        return
    send({"ready": True})
    for line in sys.stdin:
        req = json.loads(line)
        files = [(f["label"], base64.b64decode(f["data"]))
                 for f in req["files"]]
        failed, text = report(validate, etree, schema, files)
        send({"failed": failed, "report": text})


main()
