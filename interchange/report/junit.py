"""JUnit XML for conformance reports: what CI systems (Jenkins, GitLab, GitHub) display.

One <testcase> per message per check: classname `conformance.<message>`, name the
check; a failure carries the reason word as `message` and the detail as text; a
skipped check is <skipped/>. Written with xml.etree, so any text is escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from interchange.audit.conformance_findings import MessageReport, Status


def junit_xml(reports: Sequence[MessageReport], suite: str = "interchange-conformance") -> bytes:
    """The report as a UTF-8 JUnit XML document (<testsuites> with one <testsuite>)."""
    cases = [(r, f) for r in reports for f in r.findings]
    failures = sum(1 for _, f in cases if f.status is Status.FAIL)
    skipped = sum(1 for _, f in cases if f.status is Status.SKIP)
    root = ET.Element("testsuites", tests=str(len(cases)), failures=str(failures), errors="0")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    for report, finding in cases:
        case = ET.SubElement(
            node,
            "testcase",
            classname=f"conformance.{report.name}",
            name=finding.check.value,
        )
        if report.document_id:
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="document_id", value=report.document_id)
        if finding.status is Status.FAIL:
            failure = ET.SubElement(case, "failure", message=finding.reason, type=finding.reason)
            failure.text = finding.detail
        elif finding.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=finding.detail)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def write_junit(path: Path, reports: Sequence[MessageReport]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(junit_xml(reports) + b"\n")
