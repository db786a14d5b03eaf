"""Raw request bytes against every RPC of a live router, specialist and merger (processes).

Whatever the bytes, a call ends in a clean gRPC status: INVALID_ARGUMENT naming the
request type when they do not decode (the test predicts which with the same protobuf),
OK or a request's own error when they do; never UNKNOWN, INTERNAL or a hang, never a
traceback in the details or in any service's stderr. After each case the service still
reports SERVING and answers a good request; at the end its memory has grown by less than
RSS_GROWTH_MB and its log of undecodable requests kept to tutti.decoding's rate.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from functools import reduce

import grpc
import pytest
from google.protobuf import any_pb2, message, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.faults.raw_services import (
    KINDS,
    Outcome,
    Served,
    answer_a_good_request,
    decodes,
    held,
    in_band_errors,
    listed_services,
    methods_of,
    path_of,
    raw_call,
    served_services,
    service_names,
)
from tutti.decoding import UNDECODABLE_LOG_EVERY_S
from tutti.errors import MAX_PUBLIC_MESSAGE
from tutti.server import DEFAULT_MAX_MESSAGE_BYTES

# OK when the bytes happen to be a good request; INVALID_ARGUMENT when they do not decode or
# break a rule; NOT_FOUND for a name nothing has (a composition, a health check's service,
# a symbol asked of reflection); UNIMPLEMENTED, in the server's words, for a method declared
# and not served. Never UNKNOWN or INTERNAL (an error nobody mapped), nor a deadline (a hang).
ALLOWED = {grpc.StatusCode[c] for c in ("OK", "INVALID_ARGUMENT", "NOT_FOUND", "UNIMPLEMENTED")}
LARGEST = DEFAULT_MAX_MESSAGE_BYTES  # the largest request a server takes
# Past it, RESOURCE_EXHAUSTED too: a hop (the router's wrapping, an echo) outgrows the limit.
NEAR_LIMIT = LARGEST - 4096
# What grpc or protobuf put in a status when an exception escaped a servicer or a parser.
LEAKS = ("Traceback", "Error parsing", "DecodeError", "Exception deserializing", "Unexpected <")
# What a service may gain over this file, over its RSS once started: a few 4 MB messages
# held at once fit, keeping what hundreds of cases sent would not. The specialist may hold
# its inputs besides: the echo model (tests.stages) keeps every input it saw.
RSS_GROWTH_MB = 100.0
model_kept: Counter[str] = Counter()
# The Decoder's warning: "<method>: <n> request(s) that are not a valid <type>".
UNDECODABLE_LINE = re.compile(r"tutti\.errors: (/\S+): (\d+) request\(s\) that are not a valid")
METHODS = {path_of(m): m for kind in KINDS for m in methods_of(kind)}
CASES = [(kind, path_of(m)) for kind in KINDS for m in methods_of(kind)]
# Undecodable request frames sent, per (kind, method path): the log cannot count more.
undecodable_sent: Counter[tuple[str, str]] = Counter()


def sample_request(descriptor: Descriptor, payload: bytes = b"", depth: int = 0) -> message.Message:
    """A message of `descriptor` with every field set (one entry per repeated field and map,
    the last member of each oneof), each Any holding a Text followed by `payload` (raw
    fields): bytes that decode, to cut and to extend. Nesting stops at depth 3."""
    if descriptor.full_name == "google.protobuf.Any":
        value = b"\n\x01t" + payload  # Text(text="t"), then the raw fields
        return any_pb2.Any(type_url="type.googleapis.com/tutti.v1.Text", value=value)
    msg = message_factory.GetMessageClass(descriptor)()
    for field in descriptor.fields if depth <= 3 else ():
        container = getattr(msg, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field, value_field = field.message_type.fields_by_name.values()
            key = _value(key_field, payload, depth)
            if value_field.message_type is not None:
                container[key].CopyFrom(_value(value_field, payload, depth))
            else:
                container[key] = _value(value_field, payload, depth)
        elif field.is_repeated:
            add = container.add().CopyFrom if field.message_type else container.append
            add(_value(field, payload, depth))
        elif field.message_type is not None:
            container.CopyFrom(_value(field, payload, depth))
        else:
            setattr(msg, field.name, _value(field, payload, depth))
    return msg


def _value(field: FieldDescriptor, payload: bytes, depth: int) -> object:
    if field.message_type is not None:
        return sample_request(field.message_type, payload, depth + 1)
    if field.enum_type is not None:
        return next((v.number for v in field.enum_type.values if v.number), 0)
    # Numbers and bools take 1 too.
    return {FieldDescriptor.TYPE_BYTES: b"t", FieldDescriptor.TYPE_STRING: "t"}.get(field.type, 1)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def deep(levels: int) -> bytes:
    """Field 1 length-delimited inside itself `levels` times."""
    return reduce(lambda inner, _: tag(1, 2) + varint(len(inner)) + inner, range(levels), b"")


def groups(levels: int) -> bytes:
    """An unknown group (field 15) inside itself: parsed, so refused past 100 levels."""
    return tag(15, 3) * levels + tag(15, 4) * levels


def unknown_field(number: int, wire: int, body: bytes) -> bytes:
    """Field `number` of wire type `wire` (0, 1, 2, 3 or 5), its value made of `body`."""
    if wire == 0:
        return tag(number, 0) + varint(int.from_bytes(body[:9], "little") & (2**64 - 1))
    if wire in (1, 5):
        return tag(number, wire) + body[: 8 if wire == 1 else 4].ljust(8 if wire == 1 else 4, b"\0")
    if wire == 3:
        return tag(number, 3) + tag(number, 4)
    return tag(number, 2) + varint(len(body)) + body


def padded(request: bytes, size: int, fill: bytes = b"\0") -> bytes:
    """`request` and an unknown field 20000, `size` bytes in all (one more where the length's
    varint grows a byte just there)."""
    room = size - len(request) - len(tag(20_000, 2))
    body = room - len(varint(room))
    while body + len(varint(body)) < room:
        body += 1
    return request + unknown_field(20_000, 2, fill * body)


def filling(method: MethodDescriptor, size: int) -> bytes:
    """A good request; given a `size`, one whose Any holds raw fields that make it `size`
    bytes (or a byte off, where a varint grows), so that a model echoing it answers more."""
    payload = b""
    for _ in range(4):  # each try makes up for the length varints that grew
        request = sample_request(method.input_type, payload).SerializeToString()
        if not size or len(request) == size or len(payload) >= size:
            break
        payload = padded(b"", size - len(request) + len(payload))
    return request


def request_bytes(method: MethodDescriptor) -> st.SearchStrategy[bytes]:
    goods = st.sampled_from([filling(method, 0), b""])
    large = st.integers(1 << 20, LARGEST)
    return st.one_of(
        goods,
        st.binary(max_size=256),
        st.integers(1, 64 * 1024).map(lambda n: b"\xff" * n),
        # A tag, then a length or a varint that may claim far more than follows.
        st.builds(
            lambda number, wire, n, rest: tag(number, wire) + varint(n) + rest,
            *(st.integers(0, 40), st.integers(0, 7), st.integers(0, 2**64 - 1), st.binary()),
        ),
        st.integers(1, 300).map(deep),
        st.integers(1, 300).map(groups),
        st.builds(lambda v, cut: v[: cut % max(len(v), 1)], goods, st.integers(0, 2**16)),
        st.builds(
            lambda v, i, x: v[:i] + bytes([x]) + v[i + 1 :],
            *(goods, st.integers(0, 200), st.integers(0, 255)),
        ),
        st.builds(
            lambda v, n, wire, body: v + unknown_field(n, wire, body),
            *(goods, st.integers(1, 2**29 - 1), st.sampled_from([0, 1, 2, 3, 5]), st.binary()),
        ),
        st.builds(padded, goods, large, st.sampled_from([b"\0", b"\xff", b"x"])),
        large.map(lambda size: filling(method, size)),
        st.builds(lambda size, seed: random.Random(seed).randbytes(size), large, st.integers()),
    )


def frames_of(method: MethodDescriptor) -> st.SearchStrategy[list[bytes]]:
    """One request, or up to three for a method that takes a stream of them."""
    return st.lists(request_bytes(method), min_size=1, max_size=3 if method.client_streaming else 1)


def check(served: dict[str, Served], kind: str, path: str, frames: list[bytes]) -> Outcome:
    """One case: a clean status, refusing exactly the frames that do not decode, no traceback
    in any service's log, and the service still serves."""
    for other in served.values():
        other.process.new_log()  # what earlier cases wrote is theirs
    method = METHODS[path]
    outcome = raw_call(served[kind].channel, method, frames)
    bad = sum(not decodes(method, frame) for frame in frames)
    undecodable_sent[(kind, path)] += bad
    if kind != "merger":
        decoded = message_factory.GetMessageClass(method.input_type).FromString
        model_kept["specialist"] += sum(held(decoded(f)) for f in frames if decodes(method, f))
    case = (kind, path, outcome.code, outcome.details, [f[:48] for f in frames], bad)
    near_limit = max(map(len, frames)) > NEAR_LIMIT
    allowed = ALLOWED | {grpc.StatusCode.RESOURCE_EXHAUSTED} if near_limit else ALLOWED
    in_band = [e for raw in outcome.responses for e in in_band_errors(method, raw)]
    statuses = [(outcome.code, outcome.details), *in_band]
    for code, said in statuses:
        assert code in allowed, (case, code, said)
        assert len(said) <= MAX_PUBLIC_MESSAGE and not [w for w in LEAKS if w in said], case
    refusal = f"not a valid {method.input_type.full_name}"
    if not bad:
        assert all(refusal not in said for _, said in statuses), case
    elif method.client_streaming and outcome.code is grpc.StatusCode.OK:
        # A stream that takes undecodable items answers each one in band, and only those.
        assert sum(refusal in said for _, said in in_band) == bad, (case, in_band)
    else:
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT and refusal in outcome.details, case
    answer_a_good_request(kind, served[kind].channel)  # and so a late log line has landed
    for other in served.values():
        assert "Traceback" not in (log := other.process.new_log()), (case, other.kind, log[-3000:])
    return outcome


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    with served_services(tmp_path_factory.mktemp("raw-bytes")) as served:
        yield served


def test_every_service_each_server_lists_is_fuzzed(services: dict[str, Served]) -> None:
    """What each server serves (asked by reflection) is what CASES covers."""
    for kind, served in services.items():
        assert listed_services(served.channel) == set(service_names(kind))


def corpus(method: MethodDescriptor) -> list[list[bytes]]:
    """Bytes every method gets, each as a request of its own, and all as one stream."""
    good = filling(method, 0)
    singles = [
        *(b"", b"\xff\xff\xff", b"\xff" * 4096, b"\x00"),  # field 0
        # A tag and no value, a varint of eleven bytes, a length of 4 GB and nothing after it.
        *(b"\x08", b"\x08" + b"\x80" * 10 + b"\x01", b"\x0a\xff\xff\xff\xff\x0f"),
        *(deep(200), groups(100), groups(101), good[:-1], good),
        *(good + unknown_field(99_999, 2, b"x"), padded(good, LARGEST), filling(method, LARGEST)),
    ]
    return [[one] for one in singles] + ([singles] if method.client_streaming else [])


@pytest.mark.parametrize(("kind", "path"), CASES)
def test_a_corpus_of_bad_bytes_ends_in_clean_statuses(
    services: dict[str, Served], kind: str, path: str
) -> None:
    for frames in corpus(METHODS[path]):
        check(services, kind, path, frames)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    case=st.sampled_from(CASES).flatmap(lambda c: st.tuples(st.just(c), frames_of(METHODS[c[1]])))
)
def test_random_bytes_end_in_a_clean_status_and_the_service_serves_on(
    services: dict[str, Served], case: tuple[tuple[str, str], list[bytes]]
) -> None:
    outcome = check(services, *case[0], case[1])
    event(f"{case[0][1]} {outcome.code.name}")  # for --hypothesis-show-statistics


@pytest.mark.parametrize("kind", KINDS)
def test_memory_stderr_and_the_undecodable_log_stay_bounded(
    services: dict[str, Served], kind: str
) -> None:
    """A burst of 20 undecodable requests on every method adds at most one log line per
    method per UNDECODABLE_LOG_EVERY_S, as does the service's whole life."""
    served = services[kind]
    before = Counter(m[1] for m in UNDECODABLE_LINE.finditer(served.process.log()))
    started = time.monotonic()
    for method in methods_of(kind):
        for _ in range(20):
            check(services, kind, path_of(method), [b"\xff\xff\xff"])
    now = time.monotonic()
    in_burst = 1 + int((now - started) // UNDECODABLE_LOG_EVERY_S)
    in_life = 1 + int((now - served.process.started) // UNDECODABLE_LOG_EVERY_S)
    found = [(m[1], int(m[2])) for m in UNDECODABLE_LINE.finditer(served.process.log())]
    lines = Counter(path for path, _ in found)
    for path in map(path_of, methods_of(kind)):
        assert 1 <= lines[path] <= in_life, (kind, path, lines[path], in_life)
        assert lines[path] - before[path] <= in_burst, (kind, path, lines[path] - before[path])
        counted = sum(n for logged, n in found if logged == path)
        assert counted <= undecodable_sent[(kind, path)], (kind, path, counted)
    rss, sent = served.process.rss_mb(), sum(undecodable_sent[(kind, p)] for p in lines)
    bound = served.baseline_rss_mb + RSS_GROWTH_MB + model_kept[kind] / 2**20
    print(f"\n{kind}: RSS {served.baseline_rss_mb:.0f} -> {rss:.0f} MB (bound {bound:.0f})")
    print(f"{kind}: {sent} undecodable requests, {lines.total()} log lines")
    assert rss <= bound, (kind, served.baseline_rss_mb, rss, bound)
    assert "Traceback" not in served.process.log()
