#!/usr/bin/python3
"""Reference renderer for the chat package's parity tests.

Renders chat templates the way Hugging Face transformers' apply_chat_template
does (a jinja2 ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, the loopcontrols extension, and the injected raise_exception,
strftime_now and tojson), with the Debian python3-jinja2 package only.

Input (standard input): a JSON object
  {"template": "...", "now": "2024-07-26T10:11:12",
   "cases": [{"messages": [...], "add_generation_prompt": true,
              "bos_token": "...", "eos_token": "...", "extra": {...}}]}
Output (standard output): a JSON array with, per case, {"text": "..."} or
{"error": "..."}.
"""
import datetime
import json
import sys

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def main():
    req = json.load(sys.stdin)
    now = datetime.datetime.fromisoformat(req["now"])

    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                          separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    out = []
    try:
        tmpl = env.from_string(req["template"])
    except TemplateError as e:
        json.dump([{"error": str(e)} for _ in req["cases"]], sys.stdout)
        return
    for case in req["cases"]:
        kwargs = {"messages": case["messages"], "tools": None, "documents": None,
                  "add_generation_prompt": case.get("add_generation_prompt", False),
                  "bos_token": case.get("bos_token", ""),
                  "eos_token": case.get("eos_token", "")}
        kwargs.update(case.get("extra") or {})
        try:
            out.append({"text": tmpl.render(**kwargs)})
        except Exception as e:  # a template error is a result, not a crash
            out.append({"error": str(e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
