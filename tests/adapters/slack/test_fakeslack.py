"""The loopback Slack fake speaks the protocol the real slack_sdk / slack_bolt clients expect."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from testkit.fakeslack import FakeSlack, sign, signed_headers

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk picks HTTP(S)_PROXY up from the environment: keep every request on loopback."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def web_client(slack: FakeSlack, token: str = BOT_TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.api_url)


@asynccontextmanager
async def socket_mode(app: AsyncApp, slack: FakeSlack) -> AsyncIterator[list[dict[str, Any]]]:
    """Run ``app`` over Socket Mode against the fake; yields every message the SDK client received."""
    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    received: list[dict[str, Any]] = []

    async def record(client: Any, message: dict[str, Any], raw: str | None) -> None:
        received.append(message)

    handler.client.message_listeners.append(record)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await slack.wait_connected_async()
        yield received
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "Morning brief"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Story* — a summary."}},
]
METADATA = {"event_type": "newsbrief_digest", "event_payload": {"digest_id": 42, "stories": ["s1", "s2"]}}


# --------------------------------------------------------------------------------------------------
# Web API


async def test_web_api_auth_test_post_message_and_history(slack: FakeSlack) -> None:
    client = web_client(slack)

    auth = await client.auth_test()
    assert auth["ok"] is True
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T1")
    assert "chat:write" in auth.headers["X-OAuth-Scopes"]

    posted = await client.chat_postMessage(channel="C1", text="Morning brief", blocks=BLOCKS, metadata=METADATA)
    assert posted["ok"] is True and posted["channel"] == "C1"
    ts = posted["ts"]
    assert ts == posted["message"]["ts"] and ts.startswith("1700000000.")
    assert posted["message"]["blocks"] == BLOCKS and posted["message"]["bot_id"] == "BBOT"

    history = await client.conversations_history(channel="C1", include_all_metadata=True)
    assert history["has_more"] is False
    [message] = history["messages"]
    assert message["ts"] == ts and message["text"] == "Morning brief" and message["blocks"] == BLOCKS
    assert message["metadata"] == METADATA

    plain = await client.conversations_history(channel="C1")
    assert "metadata" not in plain["messages"][0]  # Slack returns metadata only when asked

    [post_call] = slack.calls_to("chat.postMessage")
    assert post_call.token == BOT_TOKEN
    assert post_call.content_type == "application/json"  # slack_sdk posts chat.postMessage as JSON
    assert post_call.params["metadata"] == METADATA
    [history_call, _] = slack.calls_to("conversations.history")
    assert history_call.http_method == "GET" and history_call.params["include_all_metadata"] == "1"
    assert [c.method for c in slack.calls] == [
        "auth.test",
        "chat.postMessage",
        "conversations.history",
        "conversations.history",
    ]
    assert slack.messages("C1")[0]["metadata"] == METADATA


def test_history_paging_oldest_threads_and_replies(slack: FakeSlack) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)  # the sync client too, from the test thread
    stamps = [slack.seed_message("C9", f"m{i}") for i in range(5)]
    reply = client.chat_postMessage(channel="C9", text="in thread", thread_ts=stamps[1])["ts"]
    assert float(stamps[0]) < float(stamps[4]) < float(reply)

    page = client.conversations_history(channel="C9", limit=2)
    assert [m["text"] for m in page["messages"]] == ["m4", "m3"]
    assert page["has_more"] is True
    rest = client.conversations_history(channel="C9", limit=10, cursor=page["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1", "m0"]  # the reply stays out of the history
    assert rest["has_more"] is False

    newer = client.conversations_history(channel="C9", oldest=stamps[2])
    assert [m["text"] for m in newer["messages"]] == ["m4", "m3"]
    inclusive = client.conversations_history(channel="C9", oldest=stamps[2], inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["m4", "m3", "m2"]

    parent = next(m for m in client.conversations_history(channel="C9")["messages"] if m["ts"] == stamps[1])
    assert (parent["reply_count"], parent["thread_ts"], parent["latest_reply"]) == (1, stamps[1], reply)
    thread = client.conversations_replies(channel="C9", ts=stamps[1])["messages"]
    assert [m["text"] for m in thread] == ["m1", "in thread"]


def test_auth_channels_users_and_unknown_methods(slack: FakeSlack) -> None:
    def error_of(call: Any) -> str:
        with pytest.raises(SlackApiError) as info:
            call()
        return str(info.value.response["error"])

    bot = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    assert error_of(WebClient(token="bogus", base_url=slack.api_url).auth_test) == "invalid_auth"
    assert error_of(WebClient(base_url=slack.api_url).auth_test) == "not_authed"
    assert error_of(WebClient(token=APP_TOKEN, base_url=slack.api_url).auth_test) == "not_allowed_token_type"
    assert error_of(lambda: bot.apps_connections_open(app_token=BOT_TOKEN)) == "not_allowed_token_type"
    slack.valid_tokens = {"xoxb-only-this"}
    assert error_of(bot.auth_test) == "invalid_auth"
    slack.valid_tokens = None

    assert error_of(lambda: bot.api_call("admin.teams.create")) == "unknown_method"

    slack.add_user("U1", "ana", is_admin=True)
    user = bot.users_info(user="U1")["user"]
    assert (user["id"], user["name"], user["is_admin"], user["is_owner"]) == ("U1", "ana", True, False)
    assert error_of(lambda: bot.users_info(user="U404")) == "user_not_found"

    slack.add_channel("C1")
    assert error_of(lambda: bot.chat_postMessage(channel="C404", text="x")) == "channel_not_found"
    slack.mark_channel("C1", "not_in_channel")
    assert error_of(lambda: bot.chat_postMessage(channel="C1", text="x")) == "not_in_channel"
    slack.mark_channel("C1", "is_archived")
    assert error_of(lambda: bot.chat_postMessage(channel="C1", text="x")) == "is_archived"
    slack.mark_channel("C1", None)
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns before sending a message without text
        assert error_of(lambda: bot.chat_postMessage(channel="C1")) == "no_text"
    too_many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    assert error_of(lambda: bot.chat_postMessage(channel="C1", text="x", blocks=too_many)) == "invalid_blocks"
    assert bot.chat_postMessage(channel="C1", text="x")["ok"] is True

    slack.error_next("chat.postMessage", "fatal_error")
    assert error_of(lambda: bot.chat_postMessage(channel="C1", text="x")) == "fatal_error"
    slack.fail_next("auth.test", "internal_error", status=503)
    with pytest.raises(SlackApiError) as info:
        bot.auth_test()
    assert info.value.response.status_code == 503
    assert bot.auth_test()["ok"] is True  # faults are consumed
    assert [c.status for c in slack.calls_to("auth.test")][-2:] == [503, 200]


async def test_rate_limit_then_retry_handler_succeeds(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    client = web_client(slack)
    slack.fail_next("chat.postMessage")  # 429, Retry-After: 1
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="no retry handler")
    assert info.value.response.status_code == 429
    assert info.value.response["error"] == "ratelimited"
    assert info.value.response.headers["Retry-After"] == "1"

    # The handler sleeps int(Retry-After) + random.random() s: Retry-After 0 and no jitter keep the test fast.
    monkeypatch.setattr("slack_sdk.http_retry.builtin_async_handlers.random.random", lambda: 0.0)
    handler: AsyncRetryHandler = AsyncRateLimitErrorRetryHandler(max_retry_count=1)
    client.retry_handlers.append(handler)
    slack.fail_next("chat.postMessage", retry_after=0)
    posted = await client.chat_postMessage(channel="C1", text="after retry")
    assert posted["ok"] is True

    calls = slack.calls_to("chat.postMessage")
    assert [(c.status, c.error) for c in calls] == [(429, "ratelimited"), (429, "ratelimited"), (200, None)]
    assert calls[1].params == calls[2].params and calls[1].at <= calls[2].at
    assert [m["text"] for m in slack.messages("C1")] == ["after retry"]


def test_invalid_blocks_are_explained_in_response_metadata_and_empty_texts_refused(slack: FakeSlack) -> None:
    bot = WebClient(token=BOT_TOKEN, base_url=slack.api_url)

    def refused(blocks: list[dict[str, Any]]) -> list[str]:
        with pytest.raises(SlackApiError) as info:
            bot.chat_postMessage(channel="C1", text="x", blocks=blocks)
        assert info.value.response["error"] == "invalid_blocks"
        return list(info.value.response["response_metadata"]["messages"])

    long_header = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]
    assert refused(long_header) == ["[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]"]
    empty = [
        {"type": "header", "text": {"type": "plain_text", "text": ""}},
        {"type": "section", "text": {"type": "mrkdwn", "text": ""}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ok"}, {"type": "mrkdwn", "text": ""}]},
    ]
    assert refused(empty) == [
        "[ERROR] must be more than 0 characters [json-pointer:/blocks/0/text/text]",
        "[ERROR] must be more than 0 characters [json-pointer:/blocks/1/text/text]",
        "[ERROR] must be more than 0 characters [json-pointer:/blocks/2/elements/1/text]",
    ]
    assert slack.messages("C1") == []


def test_a_bot_outside_a_public_channel_may_post_but_not_read_until_it_joins(slack: FakeSlack) -> None:
    bot = WebClient(token=BOT_TOKEN, base_url=slack.api_url)

    def error_of(call: Any) -> str:
        with pytest.raises(SlackApiError) as info:
            call()
        return str(info.value.response["error"])

    slack.leave_channel("C1")
    slack.leave_channel("G1", private=True)
    assert not slack.is_member("C1")
    assert bot.chat_postMessage(channel="C1", text="posted with chat:write.public")["ok"] is True
    assert error_of(lambda: bot.conversations_history(channel="C1")) == "not_in_channel"
    assert error_of(lambda: bot.chat_postEphemeral(channel="C1", user="U1", text="x")) == "not_in_channel"
    assert error_of(lambda: bot.chat_postMessage(channel="G1", text="x")) == "channel_not_found"
    assert error_of(lambda: bot.conversations_join(channel="G1")) == "method_not_supported_for_channel_type"

    slack.scopes = [s for s in slack.scopes if s != "channels:join"]
    with pytest.raises(SlackApiError) as info:
        bot.conversations_join(channel="C1")
    assert (info.value.response["error"], info.value.response["needed"]) == ("missing_scope", "channels:join")
    slack.scopes.append("channels:join")
    joined = bot.conversations_join(channel="C1")
    assert joined["ok"] is True and joined["channel"]["id"] == "C1" and "warning" not in joined.data
    again = bot.conversations_join(channel="C1")
    assert again["warning"] == "already_in_channel"
    assert slack.is_member("C1")
    [message] = bot.conversations_history(channel="C1")["messages"]
    assert message["text"] == "posted with chat:write.public"

    slack.leave_channel("C2")
    slack.scopes = [s for s in slack.scopes if s != "chat:write.public"]
    assert error_of(lambda: bot.chat_postMessage(channel="C2", text="x")) == "not_in_channel"
    assert slack.messages("C2") == []


async def test_a_dropped_connection_after_posting_is_retried_by_slack_sdk_unless_told_not_to(slack: FakeSlack) -> None:
    """What the audit found: slack_sdk's default connection-error retry posts a message again when the connection
    dropped after Slack had posted it. Without retry handlers the client sees the dropped connection."""
    slack.drop_next("chat.postMessage")
    defaults = web_client(slack)  # slack_sdk's default retry handlers include a connection-error one
    assert (await defaults.chat_postMessage(channel="C1", text="once?"))["ok"] is True
    assert [m["text"] for m in slack.messages("C1")] == ["once?", "once?"]  # posted twice

    slack.drop_next("chat.postMessage")
    bare = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, retry_handlers=[])
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await bare.chat_postMessage(channel="C2", text="dropped")
    assert [m["text"] for m in slack.messages("C2")] == ["dropped"]  # posted all the same
    assert [(c.status, c.error) for c in slack.calls_to("chat.postMessage")][-1] == (0, "connection_dropped")

    slack.drop_next("chat.postMessage", applied=False)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await bare.chat_postMessage(channel="C3", text="lost")
    assert slack.messages("C3") == []


async def test_ephemeral_messages_and_refused_response_urls(slack: FakeSlack) -> None:
    client = web_client(slack)
    posted = await client.chat_postEphemeral(channel="C1", user="U7", text="only for you")
    assert posted["ok"] is True and posted["message_ts"]
    [ephemeral] = slack.ephemerals("C1")
    assert (ephemeral["text"], ephemeral["user_shown"]) == ("only for you", "U7")
    assert slack.messages("C1") == []  # not in the history

    form = dict(urllib.parse.parse_qsl(slack.slash_command_form("x").decode()))
    slack.response_url_error = (404, "expired_url")
    answer = await AsyncWebhookClient(form["response_url"]).send(text="late")
    assert (answer.status_code, answer.body) == (404, "expired_url")
    assert slack.responses == []
    slack.response_url_error = None
    assert (await AsyncWebhookClient(form["response_url"]).send(text="in time")).status_code == 200
    assert dict(urllib.parse.parse_qsl(slack.ssl_check_form().decode()))["ssl_check"] == "1"


async def test_gate_holds_a_call_until_released(slack: FakeSlack) -> None:
    client = web_client(slack)
    gate = slack.hold("chat.postMessage")
    task = asyncio.ensure_future(client.chat_postMessage(channel="C1", text="slow"))
    await asyncio.to_thread(gate.wait_arrived, 1)
    assert not task.done() and slack.calls_to("chat.postMessage") == []
    gate.release()
    assert (await asyncio.wait_for(task, 5))["ok"] is True


# --------------------------------------------------------------------------------------------------
# Socket Mode with the real AsyncApp + AsyncSocketModeHandler


async def test_bolt_slash_command_acks_and_responds(slack: FakeSlack, tripwire: list[str]) -> None:
    app = AsyncApp(client=web_client(slack))
    seen: list[dict[str, Any]] = []

    @app.command("/brief")
    async def brief(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack()
        seen.append(command)
        await respond("pong")

    async with socket_mode(app, slack) as received:
        assert slack.connections == 1
        [open_call] = slack.calls_to("apps.connections.open")
        assert open_call.token == APP_TOKEN

        envelope = await slack.slash_command_async("top stories", user_id="U7", channel_id="C5")
        assert envelope.acked and envelope.acked_at is not None and envelope.sent_at is not None
        assert envelope.ack == {"envelope_id": envelope.envelope_id}  # a bare ack() carries no payload
        assert envelope.ack_payload is None
        assert envelope.ack_latency is not None and envelope.ack_latency < 3.0

        [response] = await slack.wait_responses_async(1)
        assert response.text == "pong" and response.response_type == "ephemeral"
        assert response.envelope_id == envelope.envelope_id
        # No ordering between the ack frame and the response_url post: bolt polls ack() every 10 ms before it
        # writes the ack frame, while the listener goes straight on to respond().
        assert slack.responses_for(envelope) == [response]

    hello = received[0]
    assert (hello["type"], hello["num_connections"], hello["connection_info"]) == (
        "hello",
        1,
        {"app_id": "A0NEWSBRIEF"},
    )
    assert received[1]["envelope_id"] == envelope.envelope_id and received[1]["type"] == "slash_commands"
    assert received[1]["accepts_response_payload"] is True
    assert tripwire == []

    [command] = seen
    assert (command["text"], command["user_id"], command["channel_id"], command["command"]) == (
        "top stories",
        "U7",
        "C5",
        "/brief",
    )
    assert command["response_url"] == envelope.response_url and command["team_id"] == "T1"
    assert len(slack.calls_to("auth.test")) == 1  # bolt's single-team authorization, on the first request
    assert slack.frames == [{"envelope_id": envelope.envelope_id}]  # the client sends nothing but acks


async def test_bolt_ack_payload_events_and_reconnects(slack: FakeSlack) -> None:
    app = AsyncApp(client=web_client(slack))
    mentions: list[str] = []
    mentioned = asyncio.Event()

    @app.command("/brief")
    async def brief(ack: AsyncAck) -> None:
        await ack("working on it")

    @app.event("app_mention")
    async def mention(event: dict[str, Any]) -> None:
        mentions.append(event["text"])
        mentioned.set()

    async with socket_mode(app, slack) as received:
        first = await slack.slash_command_async("x")
        assert first.ack_payload == {"text": "working on it"}

        event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> brief", "ts": "1.000100", "channel": "C1"}
        await slack.event_async(event)
        # bolt acks events_api envelopes before the listener runs (auto-ack), so wait for the listener itself
        await asyncio.wait_for(mentioned.wait(), 5)
        assert mentions == ["<@UBOT> brief"]

        assert await slack.drop_connections_async() == 1
        await slack.wait_connections_opened_async(2)
        await slack.wait_connected_async()
        second = await slack.slash_command_async("after reconnect")
        assert second.ack_payload == {"text": "working on it"}

        await asyncio.to_thread(slack.request_disconnect, "refresh_requested")
        await slack.wait_connections_opened_async(3)
        third = await slack.slash_command_async("after refresh")
        assert third.acked

    assert len(slack.calls_to("apps.connections.open")) == 3  # each reconnect asks for a fresh URL
    assert [m["type"] for m in received].count("hello") == 3
    assert "disconnect" not in [m["type"] for m in received]  # the SDK reconnects on it before any listener runs


def test_slash_command_without_a_connection_times_out(slack: FakeSlack) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        slack.slash_command("hello", timeout=0.2)
    assert time.monotonic() - started < 2


# --------------------------------------------------------------------------------------------------
# HTTP mode, response_url, lifecycle


async def test_signed_form_is_accepted_by_bolt_in_http_mode(slack: FakeSlack) -> None:
    secret = "s3cret"
    body = slack.slash_command_form("top stories", user_id="U2")
    plain_headers = signed_headers(secret, body)
    assert SignatureVerifier(secret).is_valid_request(body, plain_headers)
    headers: dict[str, str | Sequence[str]] = dict(plain_headers)
    assert sign(secret, 1_700_000_000, b"a=b") == sign(secret, 1_700_000_000, b"a=b") != sign("x", 1, b"a=b")
    form = dict(urllib.parse.parse_qsl(body.decode()))
    assert form["command"] == "/brief" and form["text"] == "top stories" and form["user_id"] == "U2"

    app = AsyncApp(client=web_client(slack), signing_secret=secret)

    @app.command("/brief")
    async def brief(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(text="from http mode", response_type="in_channel")

    response = await app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))
    assert response.status == 200
    [posted] = await slack.wait_responses_async(1)
    assert posted.text == "from http mode" and posted.response_type == "in_channel"

    tampered = await app.async_dispatch(AsyncBoltRequest(body=body.decode() + "x", headers=headers))
    assert tampered.status == 401


def test_response_url_limits_and_unknown_ids(slack: FakeSlack) -> None:
    form = dict(urllib.parse.parse_qsl(slack.slash_command_form("x").decode()))

    def post(url: str, payload: dict[str, Any]) -> tuple[int, str]:
        request = urllib.request.Request(
            url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    results = [post(form["response_url"], {"text": f"r{i}"}) for i in range(6)]
    assert results[:5] == [(200, "ok")] * 5
    assert results[5] == (404, "used_url")
    assert post(slack.url + "respond/nope", {"text": "x"})[0] == 404
    assert [r.text for r in slack.wait_responses(5)] == [f"r{i}" for i in range(5)]


def test_lifecycle_is_threadsafe_and_idempotent() -> None:
    fake = FakeSlack()
    fake.start()
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                client.chat_postMessage(channel="C1", text=f"{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert len(fake.calls_to("chat.postMessage")) == 20
    stamps = [m["ts"] for m in fake.messages("C1")]
    assert len(set(stamps)) == 20 and stamps == sorted(stamps, key=float)
    fake.stop()
    fake.stop()
    with pytest.raises(RuntimeError):
        fake.drop_connections()
