"""Status: the run summary's markdown cells show untrusted text as text."""

from camg.report.status import markdown_cell


def test_markdown_cells_escape_once_and_group_thousands():
    # `_` -> &#95; must not become &&#35;95; (the entity's `#` is not escaped again).
    assert markdown_cell("report_index.csv") == "report&#95;index.csv"
    assert markdown_cell("a|b <i>[x]</i> #1 & 2") == (
        "a&#124;b &lt;i&gt;&#91;x&#93;&lt;/i&gt; &#35;1 &amp; 2"
    )
    assert markdown_cell("line\nbreak") == "line break"
    assert markdown_cell(1234567) == "1,234,567"
    assert markdown_cell(None) == ""
