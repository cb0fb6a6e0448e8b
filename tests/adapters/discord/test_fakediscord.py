"""The loopback Discord fake speaks what the real discord.py client expects (REST, gateway, interactions)."""

from __future__ import annotations

import asyncio
import io
import json
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from testkit.fakediscord import (
    ADMINISTRATOR,
    MANAGE_CHANNELS,
    MEMBER_PERMISSIONS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeDiscord,
    Op,
)

with warnings.catch_warnings():
    # discord.py imports the stdlib audioop (voice) at import time, which Python 3.11+ flags as deprecated
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    from discord import app_commands

TOKEN = "fake-bot-token"
GUILD = "900000000000000010"
TEXT = "900000000000000020"
FORUM = "900000000000000030"
USER = "1300000000000000042"


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(heartbeat_interval_ms=250) as server, server.patch_discord_py():
        server.add_guild(GUILD, "Newsroom")
        server.add_channel(TEXT, GUILD, "news")
        server.add_channel(FORUM, GUILD, "digests", type=15)
        yield server


def build_client() -> tuple[discord.Client, app_commands.CommandTree[discord.Client]]:
    intents = discord.Intents.none()
    intents.guilds = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.05)
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    @tree.command(name="ping", description="Is the bot alive?")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.followup.send("pong", allowed_mentions=discord.AllowedMentions.none())

    async def topics(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["science", "sport", "world"]
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n]

    @tree.command(name="brief", description="A briefing now")
    @app_commands.autocomplete(topic=topics)
    async def brief(interaction: discord.Interaction, topic: str, stories: int = 3) -> None:
        await interaction.response.send_message(f"brief {topic} x{stories}")

    @tree.command(name="subscribe", description="Post a digest here")
    @app_commands.default_permissions(manage_channels=True)
    async def subscribe(interaction: discord.Interaction, topic: str) -> None:
        allowed = interaction.permissions.manage_channels
        await interaction.response.send_message(f"subscribed {topic} ({allowed})", ephemeral=True)

    digest = app_commands.Group(name="digest", description="Digests")

    @digest.command(name="show", description="Show a digest")
    async def show(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.send_message(f"digest {topic}", ephemeral=True)

    tree.add_command(digest)
    return client, tree


@asynccontextmanager
async def running(
    fake: FakeDiscord,
) -> AsyncIterator[tuple[discord.Client, app_commands.CommandTree[discord.Client]]]:
    """A real discord.Client logged in and connected to the fake, closed on exit."""
    client, tree = build_client()
    task: asyncio.Task[None] | None = None
    try:
        await client.login(TOKEN)
        task = asyncio.create_task(client.connect(reconnect=True))
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task in done:
            task.result()  # the connection failed: raise why
        assert ready in done, "the client did not become ready"
        yield client, tree
    finally:
        await client.close()
        if task is not None:
            await asyncio.wait_for(task, 5)


def text_channel(client: discord.Client) -> discord.TextChannel:
    channel = client.get_channel(int(TEXT))
    assert isinstance(channel, discord.TextChannel)
    return channel


# --------------------------------------------------------------------------------------------------
# discord.py end to end


async def test_login_connect_sync_and_deferred_ping(fake: FakeDiscord) -> None:
    async with running(fake) as (client, tree):
        # login: who am I, then the application (its id is what CommandTree.sync needs); no /gateway/bot
        assert [(c.method, c.path) for c in fake.calls[:2]] == [
            ("GET", "/users/@me"),
            ("GET", "/oauth2/applications/@me"),
        ]
        assert fake.calls[0].header("authorization") == f"Bot {TOKEN}"
        assert not fake.calls_to("GET", "/gateway")
        assert client.user is not None and str(client.user.id) == fake.bot_user_id
        assert str(client.application_id) == fake.app_id
        [identify] = fake.frames_with_op(Op.IDENTIFY)
        assert identify.d["token"] == TOKEN and identify.d["intents"] == 1
        assert fake.ready_count == 1
        out = [f.t for f in fake.sent_frames if f.op == Op.DISPATCH]
        assert out[:2] == ["READY", "GUILD_CREATE"]
        assert [f.s for f in fake.sent_frames if f.op == Op.DISPATCH][:2] == [1, 2]
        # GUILD_CREATE filled the cache: the channels are there with their types
        assert isinstance(client.get_channel(int(FORUM)), discord.ForumChannel)
        assert text_channel(client).guild.name == "Newsroom"
        # heartbeats are answered
        await fake.wait_frames_async(Op.HEARTBEAT, 2)
        assert any(f.op == Op.HEARTBEAT_ACK for f in fake.sent_frames)

        synced = await tree.sync()
        [put] = fake.calls_to("PUT", f"/applications/{fake.app_id}/commands")
        assert {c["name"] for c in put.json} == {"ping", "brief", "subscribe", "digest"}
        stored = {c["name"]: c for c in fake.commands()}
        assert {str(c.id) for c in synced} == {c["id"] for c in stored.values()}
        assert stored["subscribe"]["default_member_permissions"] == str(MANAGE_CHANNELS)

        it = await fake.interaction_async("ping", guild_id=GUILD, channel_id=TEXT, user_id=USER)
        callback = await it.wait_callback_async()
        assert callback.type == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
        assert it.callback_latency is not None and it.callback_latency < 3.0
        [callback_call] = fake.calls_to("POST", f"/interactions/{it.id}")
        assert callback_call.params == {"with_response": "1"} and callback_call.header("authorization") is None
        [followup] = await it.wait_followups_async(1)
        assert followup.content == "pong"
        assert followup.allowed_mentions == {"parse": []}
        assert followup.params["wait"] == "1"
        # the first followup after a defer is the deferred response itself
        original = it.original
        assert original is not None and original["content"] == "pong" and original["flags"] == 0
        [shown] = fake.messages(TEXT)
        assert shown["id"] == original["id"] and shown["allowed_mentions"] == {"parse": []}


async def test_channel_send_nonce_is_enforced(fake: FakeDiscord) -> None:
    async with running(fake) as (client, _tree):
        channel = text_channel(client)
        embed = discord.Embed(title="Morning brief", description="Three stories")
        none = discord.AllowedMentions.none()
        first = await channel.send(embed=embed, nonce="digest-42-0800", allowed_mentions=none)
        again = await channel.send(embed=embed, nonce="digest-42-0800", allowed_mentions=none)
        assert again.id == first.id  # the same nonce within minutes returns the existing message
        [post, _] = fake.calls_to("POST", f"/channels/{TEXT}/messages")
        assert post.json["nonce"] == "digest-42-0800" and post.json["enforce_nonce"] is True
        assert post.json["allowed_mentions"] == {"parse": []}
        assert post.json["embeds"][0]["title"] == "Morning brief"
        [stored] = fake.messages(TEXT)
        assert stored["nonce"] == "digest-42-0800" and stored["embeds"][0]["description"] == "Three stories"

        other = await channel.send("hi <@1300000000000000042>", nonce="digest-42-0900", allowed_mentions=none)
        assert other.id != first.id and other.mentions == []  # allowed_mentions none: nobody is pinged
        history = [m.id async for m in channel.history(limit=10)]
        assert history == [other.id, first.id]  # newest first
        assert [m.id async for m in channel.history(limit=10, after=discord.Object(first.id))] == [other.id]


async def test_rate_limit_is_retried_and_errors_surface(fake: FakeDiscord) -> None:
    async with running(fake) as (client, _tree):
        channel = text_channel(client)
        fake.fail_next("POST", f"/channels/{TEXT}/messages", retry_after=0.05)
        message = await channel.send("after a 429")
        assert [c.status for c in fake.calls_to("POST", f"/channels/{TEXT}/messages")] == [429, 200]
        assert [m["id"] for m in fake.messages(TEXT)] == [str(message.id)]

        fake.error_next("POST", f"/channels/{TEXT}/messages", 403, 50013, "Missing Permissions")
        with pytest.raises(discord.Forbidden) as forbidden:
            await channel.send("not allowed")
        assert forbidden.value.status == 403 and forbidden.value.code == 50013
        assert len(fake.messages(TEXT)) == 1

        with pytest.raises(discord.NotFound) as missing:
            await client.fetch_channel(4242)
        assert missing.value.code == 10003

        fake.error_next("POST", f"/channels/{TEXT}/messages", 503, 0, "503: Service Unavailable")
        with pytest.raises(discord.DiscordServerError):
            await channel.send("down")

        fake.remove_channel(TEXT)
        with pytest.raises(discord.NotFound) as deleted:
            await channel.send("gone")
        assert deleted.value.code == 10003


async def _no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py's ``before_identify_hook`` sleeps 5 s before every IDENTIFY but the first one."""


async def test_gateway_drops_are_resumed_and_invalid_sessions_reidentified(fake: FakeDiscord) -> None:
    async with running(fake) as (client, tree):
        client.before_identify_hook = _no_identify_delay  # type: ignore[method-assign]
        await tree.sync()
        session = fake.session_id

        assert await fake.drop_connections_async() == 1  # close 4000: resumable
        await fake.wait_resumed_async(1)
        [resume] = fake.frames_with_op(Op.RESUME)
        assert resume.d["session_id"] == session and resume.d["token"] == TOKEN
        assert resume.d["seq"] == max(f.s or 0 for f in fake.sent_frames if f.connection == 1)
        assert fake.connection_paths == ["/gateway/resume"]  # READY's resume_gateway_url

        await fake.send_reconnect_async()  # op 7
        await fake.wait_resumed_async(2)
        await fake.drop_connections_async(abrupt=True)  # no close frame at all
        await fake.wait_resumed_async(3)
        assert fake.ready_count == 1 and fake.session_id == session

        it = await fake.interaction_async("ping")
        assert (await it.wait_callback_async()).type == 5
        assert [f.content for f in await it.wait_followups_async(1)] == ["pong"]

        await fake.invalidate_session_async()  # op 9, not resumable: the client identifies anew
        await fake.wait_ready_async(count=2)
        assert fake.session_id != session and len(fake.frames_with_op(Op.IDENTIFY)) == 2
        it = await fake.interaction_async("ping")
        assert [f.content for f in await it.wait_followups_async(1)] == ["pong"]


async def test_autocomplete_options_subcommands_and_permissions(fake: FakeDiscord) -> None:
    async with running(fake) as (_client, tree):
        tree.copy_global_to(guild=discord.Object(int(GUILD)))
        await tree.sync(guild=discord.Object(int(GUILD)))
        assert fake.calls_to("PUT", f"/applications/{fake.app_id}/guilds/{GUILD}/commands")
        guild_ids = {c["id"] for c in fake.commands(GUILD)}

        suggest = await fake.autocomplete_async("brief", {"topic": "s"}, focused="topic")
        assert suggest.payload["type"] == 4 and suggest.payload["data"]["guild_id"] == GUILD
        answer = await suggest.wait_callback_async()
        assert answer.type == 8 and [c["value"] for c in answer.choices] == ["science", "sport"]

        it = await fake.interaction_async("brief", {"topic": "world", "stories": 5})
        assert it.payload["data"]["id"] in guild_ids
        assert it.payload["data"]["options"] == [
            {"name": "topic", "type": 3, "value": "world"},
            {"name": "stories", "type": 4, "value": 5},
        ]
        callback = await it.wait_callback_async()
        assert callback.type == 4 and callback.content == "brief world x5"
        [shown] = await fake.wait_messages_async(TEXT, 1)
        assert shown["content"] == "brief world x5" and shown["type"] == 20  # CHAT_INPUT_COMMAND

        it = await fake.interaction_async("digest", {"topic": "tech"}, subcommand="show")
        assert it.payload["data"]["options"][0]["type"] == 1
        callback = await it.wait_callback_async()
        assert callback.content == "digest tech" and callback.ephemeral
        assert len(fake.messages(TEXT)) == 1  # ephemeral answers are not in the channel

        with pytest.raises(PermissionError):
            await fake.interaction_async("subscribe", {"topic": "tech"}, permissions=MEMBER_PERMISSIONS)
        it = await fake.interaction_async(
            "subscribe", {"topic": "tech"}, permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS
        )
        assert (await it.wait_callback_async()).content == "subscribed tech (True)"
        it = await fake.interaction_async("subscribe", {"topic": "x"}, permissions=ADMINISTRATOR)
        assert (await it.wait_callback_async()).type == 4  # administrators pass default_member_permissions
        with pytest.raises(LookupError):
            await fake.interaction_async("nope")


async def test_forum_post_creates_a_thread_with_its_message(fake: FakeDiscord) -> None:
    async with running(fake) as (client, _tree):
        forum = client.get_channel(int(FORUM))
        assert isinstance(forum, discord.ForumChannel)
        embed = discord.Embed(title="Digest: world", description="Stories")
        post = await forum.create_thread(
            name="World — 8 May", embed=embed, allowed_mentions=discord.AllowedMentions.none()
        )
        assert post.thread.name == "World — 8 May" and post.thread.parent_id == int(FORUM)
        assert post.message.id == post.thread.id  # a forum post's starter message shares the thread's id
        [call] = fake.calls_to("POST", f"/channels/{FORUM}/threads")
        assert call.json["name"] == "World — 8 May" and call.json["message"]["allowed_mentions"] == {"parse": []}
        assert call.params == {"use_nested_fields": "1"}
        [starter] = fake.messages(post.thread.id)
        assert starter["embeds"][0]["title"] == "Digest: world"
        fetched = await client.fetch_channel(post.thread.id)
        assert isinstance(fetched, discord.Thread)
        reply = await post.thread.send("full text", file=discord.File(io.BytesIO(b"story"), filename="brief.txt"))
        [upload] = fake.calls_to("POST", f"/channels/{post.thread.id}/messages")
        assert upload.files == ("brief.txt",) and upload.json["content"] == "full text"
        assert [(a.filename, a.size) for a in reply.attachments] == [("brief.txt", 5)]
        assert len(fake.messages(post.thread.id)) == 2

        with pytest.raises(discord.HTTPException) as refused:
            await client.get_partial_messageable(int(FORUM)).send("not in a forum")
        assert refused.value.code == 50024


async def test_zlib_stream_gateway_frames(fake: FakeDiscord) -> None:
    fake.compress_gateway = True
    async with running(fake) as (client, _tree):
        assert client.get_channel(int(TEXT)) is not None
        assert fake.open_connections == 1


# --------------------------------------------------------------------------------------------------
# The wire, without discord.py


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    frame = json.loads(msg.data)
    assert isinstance(frame, dict)
    return frame


async def _identify(ws: aiohttp.ClientWebSocketResponse, token: str = TOKEN, intents: int = 1) -> None:
    await ws.send_json({"op": 2, "d": {"token": token, "intents": intents, "properties": {"os": "linux"}}})


async def test_gateway_handshake_sequence_and_resume_replay(fake: FakeDiscord) -> None:
    fake.valid_tokens = {TOKEN}
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
            hello = await _receive(ws)
            assert hello["op"] == Op.HELLO and hello["d"]["heartbeat_interval"] == 250
            await _identify(ws, token="wrong")
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4004
        async with http.ws_connect(fake.gateway_url) as ws:
            await _receive(ws)
            await _identify(ws, intents=1 | (1 << 15))  # MESSAGE_CONTENT is privileged
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4014

        ws = await http.ws_connect(fake.gateway_url)
        await _receive(ws)
        await ws.send_json({"op": 1, "d": None})
        assert (await _receive(ws))["op"] == Op.HEARTBEAT_ACK
        await _identify(ws)
        ready = await _receive(ws)
        assert (ready["t"], ready["s"]) == ("READY", 1)
        assert ready["d"]["guilds"] == [{"id": GUILD, "unavailable": True}]
        assert ready["d"]["application"] == {"id": fake.app_id, "flags": 0}
        assert ready["d"]["resume_gateway_url"] == fake.resume_gateway_url
        guild = await _receive(ws)
        assert (guild["t"], guild["s"]) == ("GUILD_CREATE", 2)
        assert {c["id"]: c["type"] for c in guild["d"]["channels"]} == {TEXT: 0, FORUM: 15}
        assert await fake.dispatch_async("TYPING_START", {"channel_id": TEXT}) == 3
        assert (await _receive(ws))["s"] == 3
        await ws.close()  # code 1000: the client ends its session
        await fake.wait_open_connections_async(0)

    async with aiohttp.ClientSession() as http:
        # that session is gone: RESUME gets INVALID_SESSION (not resumable)
        async with http.ws_connect(fake.resume_gateway_url) as ws:
            await _receive(ws)
            await ws.send_json({"op": 6, "d": {"token": TOKEN, "session_id": ready["d"]["session_id"], "seq": 3}})
            assert await _receive(ws) == {"op": 9, "d": False, "s": None, "t": None}

        ws = await http.ws_connect(fake.gateway_url)
        await _receive(ws)
        await _identify(ws)
        ready = await _receive(ws)
        await _receive(ws)  # GUILD_CREATE (s=2)
        await fake.drop_connections_async(abrupt=True)
        await ws.receive(timeout=5)
        await ws.close()
        assert await fake.dispatch_async("TYPING_START", {"channel_id": TEXT}) == 3  # buffered while disconnected
        async with http.ws_connect(fake.resume_gateway_url) as ws:
            await _receive(ws)
            await ws.send_json({"op": 6, "d": {"token": TOKEN, "session_id": ready["d"]["session_id"], "seq": 2}})
            replayed, resumed = await _receive(ws), await _receive(ws)
            assert (replayed["t"], replayed["s"]) == ("TYPING_START", 3)
            assert (resumed["t"], resumed["s"]) == ("RESUMED", 4)
            await fake.wait_resumed_async(1)


async def test_rest_wire_formats(fake: FakeDiscord) -> None:
    auth = {"Authorization": f"Bot {TOKEN}"}
    async with aiohttp.ClientSession(base_url=fake.url) as http:
        async with http.get("/api/v10/gateway/bot", headers=auth) as resp:
            body = await resp.json()
            assert body["url"] == fake.gateway_url and body["shards"] == 2  # the fake asks for 2 shards
            assert set(body["session_start_limit"]) == {"total", "remaining", "reset_after", "max_concurrency"}
        async with http.get("/api/v10/users/@me") as resp:
            assert resp.status == 401
        async with http.get("/api/v10/no/such/thing", headers=auth) as resp:
            assert (resp.status, await resp.json()) == (404, {"message": "404: Not Found", "code": 0})
        assert fake.calls_to("GET", "/no/such/thing")[0].status == 404

        fake.fail_next("POST", f"/channels/{TEXT}", retry_after=1.5, times=1)
        async with http.post(f"/api/v10/channels/{TEXT}/messages", json={"content": "x"}, headers=auth) as resp:
            assert resp.status == 429
            assert await resp.json() == {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}
            assert resp.headers["Retry-After"] == "2" and resp.headers["X-RateLimit-Remaining"] == "0"
            assert resp.headers["X-RateLimit-Reset-After"] == "1.500" and "Via" in resp.headers
            assert resp.headers["X-RateLimit-Scope"] == "user" and resp.headers["X-RateLimit-Bucket"]

        posts = [{"content": ""}, {"content": "x" * 2001}, {"content": "ok", "embeds": [{"title": "t" * 257}]}]
        codes = []
        for body in posts:
            async with http.post(f"/api/v10/channels/{TEXT}/messages", json=body, headers=auth) as resp:
                codes.append((resp.status, (await resp.json())["code"]))
        assert codes == [(400, 50006), (400, 50035), (400, 50035)]

        nonce_post = {"content": "once", "nonce": "n-1", "enforce_nonce": True}
        ids = []
        for _ in range(2):
            async with http.post(f"/api/v10/channels/{TEXT}/messages", json=nonce_post, headers=auth) as resp:
                ids.append((await resp.json())["id"])
        assert ids[0] == ids[1] and len(fake.messages(TEXT)) == 1
        for i in range(4):
            fake.seed_message(TEXT, f"m{i}")
        every = [m["id"] for m in fake.messages(TEXT)]
        async with http.get(f"/api/v10/channels/{TEXT}/messages", params={"limit": "2"}, headers=auth) as resp:
            assert [m["id"] for m in await resp.json()] == every[:-3:-1]
        query = {"limit": "2", "after": every[0]}
        async with http.get(f"/api/v10/channels/{TEXT}/messages", params=query, headers=auth) as resp:
            assert [m["id"] for m in await resp.json()] == [every[2], every[1]]
        query = {"limit": "2", "before": every[3]}
        async with http.get(f"/api/v10/channels/{TEXT}/messages", params=query, headers=auth) as resp:
            assert [m["id"] for m in await resp.json()] == [every[2], every[1]]

        fake.restrict_channel(TEXT, 50001)
        async with http.post(f"/api/v10/channels/{TEXT}/messages", json={"content": "x"}, headers=auth) as resp:
            assert (resp.status, (await resp.json())["code"]) == (403, 50001)


async def test_interaction_callback_rules(fake: FakeDiscord) -> None:
    auth = {"Authorization": f"Bot {TOKEN}"}
    commands = [{"name": "ping", "description": "Is the bot alive?", "type": 1}]
    async with aiohttp.ClientSession(base_url=fake.url) as http:
        async with http.put(f"/api/v10/applications/{fake.app_id}/commands", json=commands, headers=auth) as resp:
            [stored] = await resp.json()
        async with http.put(f"/api/v10/applications/{fake.app_id}/commands", json=commands, headers=auth) as resp:
            assert (await resp.json())[0]["id"] == stored["id"]  # overwriting keeps a command's id
        bad = [{"name": "Bad Name", "description": "x"}]
        async with http.put(f"/api/v10/applications/{fake.app_id}/commands", json=bad, headers=auth) as resp:
            assert (resp.status, (await resp.json())["code"]) == (400, 50035)

        ws = await http.ws_connect("/gateway")
        await _receive(ws)
        await _identify(ws)
        await _receive(ws)
        await _receive(ws)
        it = await fake.interaction_async("ping")
        event = await _receive(ws)
        assert event["t"] == "INTERACTION_CREATE" and event["d"]["id"] == it.id
        data = event["d"]
        assert data["type"] == 2 and data["data"] == {"id": stored["id"], "name": "ping", "type": 1}
        assert data["member"]["permissions"] == str(MEMBER_PERMISSIONS) and data["channel"]["id"] == TEXT
        assert data["token"] == it.token and data["application_id"] == fake.app_id

        followup = f"/api/v10/webhooks/{fake.app_id}/{it.token}"
        async with http.post(followup, json={"content": "too early"}) as resp:
            assert (resp.status, (await resp.json())["code"]) == (404, 10015)
        callback = f"/api/v10/interactions/{it.id}/{it.token}/callback"
        async with http.post(callback, json={"type": 4, "data": {"content": "pong"}}) as resp:
            assert resp.status == 204
        async with http.post(callback, json={"type": 4, "data": {"content": "again"}}) as resp:
            assert (resp.status, (await resp.json())["code"]) == (400, 40060)
        async with http.patch(followup + "/messages/@original", json={"content": "edited"}) as resp:
            assert (await resp.json())["content"] == "edited"
        assert [e.content for e in it.edits] == ["edited"] and it.original is not None
        assert [m["content"] for m in fake.messages(TEXT)] == ["edited"]

        fake.interaction_ack_deadline = 0.0
        late = await fake.interaction_async("ping")
        await _receive(ws)
        async with http.post(f"/api/v10/interactions/{late.id}/{late.token}/callback", json={"type": 5}) as resp:
            assert (resp.status, (await resp.json())["code"]) == (404, 10062)
        assert late.callback is None
        await ws.close()


# --------------------------------------------------------------------------------------------------
# Discord's rules that decide what a bot's users see


async def test_the_first_followup_after_a_deferral_keeps_the_deferrals_visibility(fake: FakeDiscord) -> None:
    """As Discord documents: the first followup after a deferred response edits that response, and its
    ephemeral flag is ignored (a message's visibility is fixed when it is made); later followups have their own."""
    async with running(fake) as (_client, tree):

        @tree.command(name="reveal", description="Defer publicly, then try to answer privately")
        async def reveal(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.followup.send("meant for one", ephemeral=True)
            await interaction.followup.send("and this one too", ephemeral=True)

        @tree.command(name="whisper", description="Defer privately, then try to answer publicly")
        async def whisper(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)
            await interaction.followup.send("still private", ephemeral=False)

        await tree.sync()
        it = await fake.interaction_async("reveal", guild_id=GUILD, channel_id=TEXT)
        first, second = await it.wait_followups_async(2)
        assert first.ephemeral and not first.shown_ephemeral  # asked for, not done
        assert second.ephemeral and second.shown_ephemeral
        it = await fake.interaction_async("whisper", guild_id=GUILD, channel_id=TEXT)
        (only,) = await it.wait_followups_async(1)
        assert not only.ephemeral and only.shown_ephemeral
    assert [m["content"] for m in fake.messages(TEXT)] == ["meant for one"]


async def test_a_nonce_is_forgotten_after_the_nonce_window_of_fake_time(fake: FakeDiscord) -> None:
    async with running(fake) as (client, _tree):
        channel = text_channel(client)
        first = await channel.send("digest", nonce="nb-slot-1")
        fake.advance(fake.nonce_window - 5)
        assert (await channel.send("digest", nonce="nb-slot-1")).id == first.id  # within the window: the same
        fake.advance(10)
        later = await channel.send("digest", nonce="nb-slot-1")
        assert later.id != first.id and len(fake.messages(TEXT)) == 2  # after it: a new message
        assert (later.created_at - first.created_at).total_seconds() >= fake.nonce_window  # ids follow the clock


async def test_autocomplete_answers_beyond_discords_limits_are_refused(fake: FakeDiscord) -> None:
    offered: list[app_commands.Choice[str]] = []
    async with running(fake) as (_client, tree):

        async def names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return offered

        @tree.command(name="pick", description="Pick a name")
        @app_commands.autocomplete(name=names)
        async def pick(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(name)

        await tree.sync()
        for choices, accepted in (
            ([app_commands.Choice(name="n" * 100, value="v" * 100)] * 25, True),
            ([app_commands.Choice(name=f"n{i}", value=f"v{i}") for i in range(26)], False),
            ([app_commands.Choice(name="n" * 101, value="short")], False),
            ([app_commands.Choice(name="short", value="v" * 101)], False),
        ):
            offered[:] = choices
            it = await fake.autocomplete_async("pick", {"name": ""}, focused="name", guild_id=GUILD, channel_id=TEXT)
            (call,) = await fake.wait_calls_async("POST", f"/interactions/{it.id}")
            assert (call.status < 300) is accepted and (call.code == 50035) is not accepted
            assert (it.callback is not None) is accepted


async def test_permission_overwrites_decide_what_the_bot_may_read_and_post(fake: FakeDiscord) -> None:
    async with running(fake) as (client, _tree):
        channel = text_channel(client)
        message = await channel.send("hello")
        fake.set_overwrite(TEXT, fake.bot_user_id, deny=READ_MESSAGE_HISTORY)
        assert [m async for m in channel.history(limit=10)] == []  # Discord: no messages, and no error
        with pytest.raises(discord.Forbidden):
            await channel.fetch_message(message.id)
        me = text_channel(client).guild.me
        for _ in range(500):  # the gateway's CHANNEL_UPDATE reaches the client's cache
            if not text_channel(client).permissions_for(me).read_message_history:
                break
            await asyncio.sleep(0.01)
        assert not text_channel(client).permissions_for(me).read_message_history
        fake.set_overwrite(TEXT, GUILD, deny=SEND_MESSAGES, member=False)  # @everyone may not post
        with pytest.raises(discord.Forbidden) as refused:
            await channel.send("refused")
        assert refused.value.code == 50013
        # the member's overwrite comes last: it may post again (and still not read)
        fake.set_overwrite(TEXT, fake.bot_user_id, allow=SEND_MESSAGES, deny=READ_MESSAGE_HISTORY)
        await channel.send("allowed")
        assert [m["content"] for m in fake.messages(TEXT)] == ["hello", "allowed"]
        fake.set_overwrite(FORUM, GUILD, deny=VIEW_CHANNEL, member=False)
        with pytest.raises(discord.Forbidden) as hidden:
            await client.fetch_channel(int(FORUM))
        assert hidden.value.code == 50001
        assert fake.bot_permissions_in(FORUM) == 0

        # the same over REST, for a client without the gateway's cache: the guild's roles, the bot's member
        guild = await client.fetch_guild(int(GUILD))
        assert client.user is not None
        member = await guild.fetch_member(client.user.id)
        fetched = await guild.fetch_channel(int(TEXT))
        assert fetched.permissions_for(member).send_messages
        assert not fetched.permissions_for(member).read_message_history


async def test_active_threads_of_a_guild(fake: FakeDiscord) -> None:
    async with running(fake) as (client, _tree):
        forum = client.get_channel(int(FORUM))
        assert isinstance(forum, discord.ForumChannel)
        post = await forum.create_thread(name="World", content="Stories")
        guild = text_channel(client).guild
        (thread,) = await guild.active_threads()
        assert (thread.id, thread.parent_id, thread.owner_id) == (post.thread.id, int(FORUM), int(fake.bot_user_id))
        assert (await thread.fetch_message(thread.id)).content == "Stories"


async def test_sharded_sessions_get_only_their_guilds(fake: FakeDiscord) -> None:
    """``GET /gateway/bot`` asks for 2 shards; IDENTIFY with ``shard: [id, count]`` holds the guilds whose
    ``(guild_id >> 22) % count == id``: READY and GUILD_CREATE list only those, and a guild's events go to the
    session holding it. A shard outside ``[0, count)`` is closed with 4010."""
    other = str(int(GUILD) + (1 << 22))  # the next shard's guild
    fake.add_channel("900000000000000040", other, "elsewhere")
    assert fake.shard_of(GUILD) != fake.shard_of(other)
    async with aiohttp.ClientSession() as http:
        for bad in ([2, 2], [0], [-1, 2], "0,2"):
            async with http.ws_connect(fake.gateway_url) as ws:
                await _receive(ws)
                await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": 1, "properties": {}, "shard": bad}})
                msg = await ws.receive(timeout=5)
                assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4010
        sockets = []
        for shard in (0, 1):
            ws = await http.ws_connect(fake.gateway_url)
            sockets.append(ws)
            await _receive(ws)
            await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": 1, "properties": {}, "shard": [shard, 2]}})
            ready, guild = await _receive(ws), await _receive(ws)
            held = GUILD if fake.shard_of(GUILD) == shard else other
            assert ready["d"]["shard"] == [shard, 2] and ready["d"]["guilds"] == [{"id": held, "unavailable": True}]
            assert (guild["t"], guild["d"]["id"]) == ("GUILD_CREATE", held)
        await fake.dispatch_async("TYPING_START", {"guild_id": other, "channel_id": "900000000000000040"})
        typing = await _receive(sockets[fake.shard_of(other)])
        assert (typing["t"], typing["d"]["guild_id"]) == ("TYPING_START", other)
        for ws in sockets:
            await ws.close()
