"""The DocBook subset of the 1177 inbox (1.x): what passes, what the citizen would see as
'##### Mismatched Element in Source #####', and that the text is read safely."""

from __future__ import annotations

import pytest

from mockplatform.domains.inbox1177 import docbook
from mockplatform.domains.inbox1177.docbook import DOCBOOK5, MISMATCH_TEXT, ROOT, SUBSET, check, is_docbook, ulink_urls


def article(inner: str, attrs: str = "") -> str:
    return f"<article{attrs}>{inner}</article>"


ALLOWED = {
    "para with text": article("<para>Hej!</para>"),
    "para with ulink": article('<para>Logga in <ulink url="https://e-tjanster.1177.se/x">här</ulink>.</para>'),
    "info with title": article("<info><title>Kallelse</title></info><para>x</para>"),
    "bibliography in article": article("<bibliography>Källa</bibliography>"),
    "section with everything": article(
        "<section><info><title>A</title></info><title>B</title><para>x</para><bibliography>y</bibliography>"
        "<variablelist><title>V</title></variablelist></section>"
    ),
    "two sections": article("<section><para>1</para></section><section><para>2</para></section>"),
    "variablelist": article(
        "<variablelist><title>Tider</title><varlistentry><term>Måndag</term><listitem>8-17</listitem>"
        "</varlistentry><varlistentry><term>Tisdag</term><listitem>8-12</listitem></varlistentry></variablelist>"
    ),
    "DocBook 5 namespace": article("<para>x</para>", f' xmlns="{DOCBOOK5}" version="5.0"'),
    "leading whitespace and comment": "\n  <article><!-- c --><para>x</para></article>\n",
    "xml declaration naming another encoding": '<?xml version="1.0" encoding="ISO-8859-1"?>'
    + article("<para>Åsa</para>"),
    "character references": article("<para>a&#160;b &amp; c &lt; d</para>"),
    "whitespace between elements": article("\n  <para>x</para>\n  <para>y</para>\n"),
}


@pytest.mark.parametrize("text", ALLOWED.values(), ids=ALLOWED.keys())
def test_every_construct_of_the_subset_passes(text):
    assert check(text) == []


MISMATCHED = {
    "emphasis is not in the subset": (
        article("<section><para>a</para></section><section><para>1</para><para>b <emphasis>c</emphasis></para>"
                "</section>"),
        "/article/section[2]/para[2]/emphasis",
    ),
    "section inside section": (article("<section><section><para>x</para></section></section>"),
                               "/article/section/section"),
    "ulink directly in article": (article('<ulink url="https://x">y</ulink>'), "/article/ulink"),
    "ulink in section": (article('<section><ulink url="https://x">y</ulink></section>'), "/article/section/ulink"),
    "ulink in title": (article('<info><title><ulink url="https://x">y</ulink></title></info>'),
                       "/article/info/title/ulink"),
    "para inside para": (article("<para><para>x</para></para>"), "/article/para/para"),
    "title directly in article": (article("<title>x</title>"), "/article/title"),
    "info inside para": (article("<para><info/></para>"), "/article/para/info"),
    "varlistentry outside variablelist": (article("<varlistentry><term>a</term></varlistentry>"),
                                          "/article/varlistentry"),
    "listitem directly in variablelist": (article("<variablelist><listitem>x</listitem></variablelist>"),
                                          "/article/variablelist/listitem"),
    "itemizedlist (only in the 2.0 subset)": (article("<itemizedlist><listitem>x</listitem></itemizedlist>"),
                                              "/article/itemizedlist"),
    "link (only in the 2.0 subset)": (article("<para><link>x</link></para>"), "/article/para/link"),
    "para as root": ("<para>x</para>", "/para"),
    "html as root": ("<html><body>x</body></html>", "/html"),
    "element in another namespace": (article('<h:b xmlns:h="http://www.w3.org/1999/xhtml">x</h:b>'), "/article/b"),
}


@pytest.mark.parametrize(("text", "path"), MISMATCHED.values(), ids=MISMATCHED.keys())
def test_each_mismatched_element_is_found_with_its_path(text, path):
    problems = check(text)
    assert [p.path for p in problems] == [path]
    assert MISMATCH_TEXT in problems[0].message_en
    assert MISMATCH_TEXT in problems[0].message_sv
    assert problems[0].mismatch


def test_the_message_names_the_element_and_what_the_citizen_sees():
    [problem] = check(article("<para>b <emphasis>c</emphasis></para>"))
    assert problem.message_en == f"<emphasis> is not in the subset 1177 accepts; the citizen will see '{MISMATCH_TEXT}'"


def test_a_misplaced_element_says_where_it_may_stand():
    [problem] = check(article("<section><ulink url='u'>y</ulink></section>"))
    assert "not allowed inside <section>" in problem.message_en
    assert "allowed inside: <para>" in problem.message_en


def test_ulink_needs_a_url():
    [problem] = check(article("<para><ulink>här</ulink></para>"))
    assert problem.path == "/article/para/ulink"
    assert "'url'" in problem.message_en and not problem.mismatch
    assert [p.path for p in check(article('<para><ulink url=" ">här</ulink></para>'))] == ["/article/para/ulink"]


def test_text_directly_in_a_structural_element_is_found():
    [problem] = check(article("Hej <para>x</para>"))
    assert problem.path == "/article"
    assert "<para>" in problem.message_en


def test_the_line_is_the_line_within_the_text():
    text = "\n\n<article>\n  <para>x</para>\n  <para>y <emphasis>z</emphasis></para>\n</article>"
    [problem] = check(text)
    assert problem.path == "/article/para[2]/emphasis"
    assert problem.line == 5


def test_inside_a_mismatched_element_nothing_more_is_reported():
    assert len(check(article("<itemizedlist><listitem><para><emphasis>x</emphasis></para></listitem>"
                             "</itemizedlist>"))) == 1


@pytest.mark.parametrize("text", [
    "<article><para>x</article>",
    "<article><para>x</para>",
    "<article><para>a & b</para></article>",
    "<article></article><article></article>",
])
def test_text_that_is_not_well_formed_is_found(text):
    [problem] = check(text)
    assert problem.path == ""
    assert "not well-formed" in problem.message_en
    assert problem.line == 1


def test_an_undefined_entity_is_not_well_formed():
    [problem] = check(article("<para>a&nbsp;b</para>"))
    assert "not well-formed" in problem.message_en and "nbsp" in problem.message_en


@pytest.mark.parametrize("text", [
    '<!DOCTYPE article [<!ENTITY x "expanded">]><article><para>&x;</para></article>',
    '<!DOCTYPE article [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    "<article><para>&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;</para></article>",
    '<!DOCTYPE article [<!ENTITY x SYSTEM "file:///etc/passwd">]><article><para>&x;</para></article>',
    '<!DOCTYPE article SYSTEM "http://docbook.invalid/docbook.dtd"><article><para>x</para></article>',
])
def test_doctype_and_entities_are_refused_safely(text):
    [problem] = check(text)
    assert "DOCTYPE" in problem.message_en
    assert "root:" not in problem.message_en
    assert ulink_urls(text) == []


def test_ulink_urls_lists_every_ulink_wherever_it_stands():
    text = article('<para><ulink url="https://a">a</ulink></para><section><ulink url="https://b"/></section>'
                   f'<para><ulink xmlns="{DOCBOOK5}" url="https://c"/></para>')
    assert ulink_urls(text) == ["https://a", "https://b", "https://c"]
    assert ulink_urls("<article><para>x</para></article>") == []
    assert ulink_urls("<article><ulink") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("<article/>", True), ("  \n<article/>", True), ("Hej <b>", False), ("", False), (None, False),
])
def test_a_text_is_docbook_when_it_starts_with_a_tag(text, expected):
    assert is_docbook(text) is expected


def test_the_table_parents_and_children_columns_agree():
    for name, row in SUBSET.items():
        for parent in row.parents:
            assert parent == ROOT or name in SUBSET[parent].children, (name, parent)
        for child in row.children:
            assert name in SUBSET[child].parents, (name, child)


def test_the_walk_gives_a_judged_tree_a_renderer_can_reuse():
    root, offset = docbook.read(article("<para>a <ulink url='u'>b</ulink></para><para><emphasis/></para>"))
    tree = docbook.tree(root, offset)
    nodes = list(docbook.walk(tree))
    assert [n.path for n in nodes] == ["/article", "/article/para[1]", "/article/para[1]/ulink", "/article/para[2]",
                                       "/article/para[2]/emphasis"]
    assert [n.mismatched for n in nodes] == [False, False, False, False, True]


@pytest.mark.parametrize("url, ok", [
    ("https://www.1177.se/avgifter", True), ("HTTP://example.invalid/x", True),
    ("javascript:alert(1)", False), ("/relative/path", False), ("mailto:a@b.invalid", False), ("https://", False),
])
def test_ulink_must_be_an_absolute_web_address(url, ok):
    from xml.sax.saxutils import quoteattr

    text = f"<article><para><ulink url={quoteattr(url)}>länk</ulink></para></article>"
    problems = [p for p in check(text) if "http(s)" in p.message_en]
    assert (not problems) is ok, problems


@pytest.mark.parametrize("inner", [
    "<itemizedlist><listitem><para>a</para></listitem></itemizedlist>",  # DocBook 5: block content in a listitem
    "<itemizedlist><listitem><para>a</para><para>b <emphasis role=\"bold\">c</emphasis></para></listitem>"
    "<listitem>d</listitem></itemizedlist>",
    "<itemizedlist><listitem>a</listitem></itemizedlist>",  # text, as the 1.x table has a listitem hold
    "<variablelist><varlistentry><term>t</term><listitem><para>a</para></listitem></varlistentry></variablelist>",
])
def test_the_2_0_subset_takes_a_listitem_of_paras_as_docbook_5_writes_it(inner):
    assert check(article(inner), docbook.SUBSET_2) == []


def test_a_listitem_of_paras_is_still_outside_the_1_x_subset():
    [problem] = check(article("<variablelist><varlistentry><term>t</term><listitem><para>a</para></listitem>"
                              "</varlistentry></variablelist>"))
    assert problem.path == "/article/variablelist/varlistentry/listitem/para"
