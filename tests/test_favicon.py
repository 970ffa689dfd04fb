"""/favicon.ico: browsers ask for it on every site, whatever the pages link."""

from io import BytesIO

from PIL import Image


def test_it_serves_an_icon_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    icon = Image.open(BytesIO(body))
    assert icon.format == "ICO"
    assert icon.size[0] >= 16
