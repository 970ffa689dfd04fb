"""Imported SVG plots are parsed with a real XML parser (defusedxml) and checked against an
allow-list of elements and attributes: what a regex misses (a namespaced script, an
entity-encoded javascript: link) is refused, and a genuine export whose class labels read
like markup imports."""

import pytest

from registry import services, transfer
from registry.services import InvalidInput
from tests.registry.transfer.zips import edit_json, fix_up, pack, unpack

pytestmark = pytest.mark.django_db

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
HOSTILE = {
    "namespaced script": (
        f'<svg {NS} xmlns:s="http://www.w3.org/2000/svg"><s:script>alert(1)</s:script></svg>'
    ),
    "namespaced handler": (
        f'<svg {NS} xmlns:e="http://www.w3.org/2000/svg"><e:image e:onload="alert(1)"/></svg>'
    ),
    "entity-encoded javascript link": (
        f'<svg {NS}><a xlink:href="&#106;avascript:alert(1)"><text>x</text></a></svg>'
    ),
    "entity-encoded javascript use": (
        f'<svg {NS}><use xlink:href="&#x6A;avascript&#58;alert(1)"/></svg>'
    ),
    "javascript image href": f'<svg {NS}><image href="jav&#x61;script:alert(1)"/></svg>',
    "external image": f'<svg {NS}><image xlink:href="https://evil.example/t.png"/></svg>',
    "animate into a link": (
        f'<svg {NS}><animate attributeName="href" to="javascript:alert(1)"/></svg>'
    ),
    "foreign object": (
        f'<svg {NS}><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div>'
        "</foreignObject></svg>"
    ),
    "event handler": f'<svg {NS}><g onclick="alert(1)"/></svg>',
    "stylesheet instruction": (
        f'<?xml-stylesheet type="text/css" href="https://evil.example/x.css"?><svg {NS}/>'
    ),
    "css import": f"<svg {NS}><style>@import url(https://evil.example/x.css);</style></svg>",
    "css url": f'<svg {NS}><path style="fill: url(https://evil.example/x)"/></svg>',
    "entity bomb": (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f"<svg {NS}><text>&b;</text></svg>"
    ),
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f"<svg {NS}><text>&x;</text></svg>"
    ),
    "html root": "<html><script>alert(1)</script></html>",
    "not xml": "<svg <script>",
}


@pytest.mark.parametrize("svg", HOSTILE.values(), ids=HOSTILE.keys())
def test_it_refuses_active_or_foreign_svg(exports, owner, svg):
    members = unpack(exports["churn"])
    changed = pack(fix_up(edit_json(members, transfer.CARD, lambda c: c["plots"].update(x=svg))))
    with pytest.raises(InvalidInput) as caught:
        services.version_import(user=owner, data=changed, name="imported")
    print(caught.value.message)
    assert "its plot 'x' is not a plain SVG image" in caught.value.message


def test_a_genuine_export_with_markup_in_its_labels_imports(owner, other, make_dataset):
    from registry import training
    from registry.models import ModelVersion

    labels = ["ok", 'yes" onerror="alert(1)', "<script>alert(1)</script> onload=x"]
    rows = "\n".join(f"{i},{(i * 7) % 5},{labels[i % 3]}" for i in range(60))
    dataset = make_dataset(data=f"a,b,label\n{rows}\n".encode(), dataset_name="markup")
    version = services.model_create_with_version(
        owner=owner,
        name="markup",
        dataset=dataset,
        algorithm="decision_tree_classifier",
        target="label",
    )
    assert training.train(version.pk) == "ready"
    version = ModelVersion.objects.select_related("model", "created_by").get(pk=version.pk)
    assert "onerror=" in version.plots["confusion_matrix"]  # the labels are drawn as text
    imported = services.version_import(
        user=other, data=transfer.version_export(version), name="imported"
    )
    assert imported.plots == version.plots  # stored as exported
    print("imported a confusion matrix whose labels hold onerror= and <script>")


def test_every_plot_of_the_churn_export_passes(exports):
    card = transfer.read_export(exports["churn"]).card
    assert card["plots"]
    for svg in card["plots"].values():
        assert svg.startswith("<?xml")


def test_a_hostile_plot_stored_before_the_check_is_not_served(exports, owner, logged_in):
    """An imported version's plots are checked again when served: a row stored by an older
    instance (whose regex let a namespaced script through) is a 404, not the SVG."""
    from registry.models import ModelVersion

    version = services.version_import(user=owner, data=exports["churn"], name="imported")
    url = f"/models/imported/versions/{version.version}/plots/confusion_matrix.svg"
    genuine = logged_in.get(url)
    assert genuine.status_code == 200
    assert genuine["Content-Type"] == "image/svg+xml"
    ModelVersion.objects.filter(pk=version.pk).update(
        plots={**version.plots, "confusion_matrix": HOSTILE["namespaced script"]}
    )
    response = logged_in.get(url)
    assert response.status_code == 404
    assert b"alert(1)" not in response.content
