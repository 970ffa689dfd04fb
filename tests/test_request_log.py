import logging


def test_it_logs_one_line_per_request_with_status_duration_and_address(client, caplog):
    with caplog.at_level(logging.INFO, logger="mlsite.requests"):
        client.get("/healthz")
        client.get("/no-such-page")
    lines = [r.getMessage() for r in caplog.records if r.name == "mlsite.requests"]
    assert len(lines) == 2
    method, path, status, duration, address = lines[0].split()
    assert (method, path, status) == ("GET", "/healthz", "200")
    assert duration.endswith("ms")
    assert float(duration[:-2]) >= 0
    assert address == "127.0.0.1"  # the test client's REMOTE_ADDR
    assert lines[1].startswith("GET /no-such-page 404 ")
