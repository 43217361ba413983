from starlette.testclient import TestClient

from tests.support.world import World


def test_allocates(client: TestClient, world: World) -> None:
    response = client.post(
        "/core/v1/virtual_machines/_/allocate_ip",
        json={
            "virtual_machine": {"id": world.vm("web-1")},
            "ip_address": {"address": "192.0.2.10"},
        },
    )
    assert response.status_code == 200, response.text
