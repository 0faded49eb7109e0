"""Rendering: view data -> HTML text through Jinja2 (autoescape, StrictUndefined) with a strict CSP.

Every page carries a Content-Security-Policy that allows no network request at all: only the page's
own stylesheet and (for the dietitian view) its own script, each pinned by its SHA-256 hash, so even
an injected script could not run or fetch anything.
"""

import base64
import hashlib
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


def _asset(name: str) -> str:
    """A packaged template asset's text (the stylesheet, the table script)."""
    return resources.files("camg.report").joinpath("templates", name).read_text(encoding="utf-8")


def _hash_source(text: str) -> str:
    """A CSP hash source for an inline element's exact text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(css: str, script: str | None) -> str:
    """No network, no plugins, no base or form targets; only our inline style and script run."""
    script_src = _hash_source(script) if script else "'none'"
    return (
        f"default-src 'none'; style-src {_hash_source(css)}; script-src {script_src}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def environment() -> Environment:
    """The report Jinja2 environment: escapes every value, fails on any missing name."""
    return Environment(
        loader=PackageLoader("camg.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Renderer:
    """Renders the report pages with shared page data (versions, stylesheet, policies)."""

    def __init__(self, page: dict[str, str]) -> None:
        """Load templates and assets once (thousands of participant pages reuse them)."""
        self.env = environment()
        self.page = page
        self.css = _asset("report.css")
        self.script = _asset("table.js")
        self.templates = {
            name: self.env.get_template(f"{name}.html.j2")
            for name in ("index", "population", "participant", "dietitian", "quality")
        }

    def render(self, name: str, with_script: bool = False, **context: object) -> str:
        """One page as HTML text."""
        script = self.script if with_script else None
        page = {
            **self.page,
            "css": Markup(self.css),
            "script": Markup(script) if script else "",
            "csp": content_security_policy(self.css, script),
        }
        return self.templates[name].render(page=page, **context)
