"""openai backend: budget forcing by rounds over a real `vllm serve` equals the transformers backend.

The session's `s1kit serve s1-nano` (fp32, eager, s1kit's processor loaded) runs on loopback.
Bad input is checked against a closed local port and a small stub server on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cross_backend import (
    NANO_BUDGETS,
    NANO_QUESTIONS,
    SEEDED_BUDGET,
    assert_same,
    assert_sweep_matches,
    seeded_runs_agree,
)
from s1kit.budget.config import BudgetConfig
from s1kit.budget.forcing import generate_with_budget
from s1kit.errors import S1kitError

pytest.importorskip("openai", reason="the openai backend needs the [openai] extra")
from conftest import SERVER_KEY  # noqa: E402
from s1kit.backends.openai_http import OpenAIBackend  # noqa: E402
from servers import free_port  # noqa: E402

SERVED_NAME = "s1-nano"  # the built-in alias, so the backend finds the tokenizer by itself


@pytest.fixture(scope="module")
def vllm_server(nano_server):
    """s1-nano on `s1kit serve` (vLLM's server with s1kit's processor and middleware): requests
    without budget fields, as this backend sends, pass through it untouched."""
    return nano_server.url


@pytest.fixture(scope="module")
def openai_backend(vllm_server):
    return OpenAIBackend(SERVED_NAME, base_url=vllm_server, api_key=SERVER_KEY, concurrency=4)


@pytest.mark.slow
@pytest.mark.parametrize("server_forcing", [False, True], ids=["rounds", "server-forcing"])
@pytest.mark.parametrize("budget_name", sorted(NANO_BUDGETS))
def test_s1_nano_over_http_equals_hf(vllm_server, nano_backend, budget_name, server_forcing):
    """Rounds of plain completions, or one request each that the server's own engine forces
    (s1kit's processor loaded into `vllm serve`): hf's tokens either way."""
    backend = OpenAIBackend(SERVED_NAME, base_url=vllm_server, api_key=SERVER_KEY, concurrency=4, server_forcing=server_forcing)
    budget = NANO_BUDGETS[budget_name]
    got = generate_with_budget(backend, NANO_QUESTIONS, budget, fmt="s1", progress=False)
    want = generate_with_budget(nano_backend, NANO_QUESTIONS, budget, fmt="s1", progress=False)
    assert_same(got, want)
    assert sum(g.forced_tokens for g in got) > 0


@pytest.mark.slow
def test_results_do_not_depend_on_concurrency(vllm_server, openai_backend):
    serial = OpenAIBackend(SERVED_NAME, base_url=vllm_server, api_key=SERVER_KEY, concurrency=1)
    budget = NANO_BUDGETS["ignore"]
    one = generate_with_budget(serial, NANO_QUESTIONS, budget, fmt="s1", progress=False)
    four = generate_with_budget(openai_backend, NANO_QUESTIONS, budget, fmt="s1", progress=False)
    assert_same(one, four)


@pytest.mark.slow
def test_sampling_with_seed_is_reproducible_and_respects_the_budget(openai_backend):
    first = seeded_runs_agree(openai_backend)
    budget = SEEDED_BUDGET
    prefix = len(openai_backend.tokenizer.encode(budget.answer_prefix))
    for g in first:
        assert g.thinking_tokens <= 32 and g.answer_tokens <= 8 + prefix


@pytest.mark.slow
def test_server_facts(openai_backend):
    """What the loop relies on: context length from /v1/models, stop id kept at the end of the ids."""
    assert openai_backend.context_length == 1024
    tok = openai_backend.tokenizer
    prompt = tok.encode(tok.apply_chat_template([{"role": "user", "content": NANO_QUESTIONS[1]}]))
    reply = openai_backend.client.completions.create(
        model=SERVED_NAME, prompt=prompt, max_tokens=256, temperature=0,
        extra_body={"stop_token_ids": [2], "return_token_ids": True, "skip_special_tokens": False})
    choice = reply.choices[0]
    # The model's own end of turn (its eos): kept at the end of the ids, stop_reason left empty.
    assert (choice.finish_reason, choice.stop_reason, choice.token_ids[-1]) == ("stop", None, 2)
    assert "<|im_end|>" not in choice.text
    # Any other stop id: kept at the end of the ids too, and named in stop_reason.
    stop_at = choice.token_ids[3]
    again = openai_backend.client.completions.create(
        model=SERVED_NAME, prompt=prompt, max_tokens=256, temperature=0,
        extra_body={"stop_token_ids": [stop_at], "return_token_ids": True, "skip_special_tokens": False})
    assert again.choices[0].token_ids == choice.token_ids[: choice.token_ids.index(stop_at) + 1]
    assert (again.choices[0].finish_reason, again.choices[0].stop_reason) == ("stop", stop_at)


# --- bad input and server quirks, against a scripted stub on loopback --------------------------


def toy_count(text: str) -> int:
    """The stub server's token count: special tokens, words, punctuation and spaces count one each."""
    return len(re.findall(r"<\|[^|]+\|>|\w+|[^\w\s]|\s", text))


class Stub:
    """An OpenAI-ish server on 127.0.0.1: fixed statuses per path, scripted completion replies."""

    def __init__(self):
        self.models = [{"id": "stub-model", "object": "model", "max_model_len": 4096}]
        self.status = {}  # path -> HTTP status to answer instead
        self.replies = []  # completion choices to hand out, in order
        self.requests = []
        self.probes = []  # one-token requests (start-up probe, token counting), answered by the stub itself
        self.token_ids = True  # whether replies carry vLLM's token_ids
        self.refuse_extensions = False  # a hosted API: 400 on vLLM's extra fields
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self, body):
                path = self.path.split("?")[0]
                status = stub.status.get(path, stub.status.get("*"))
                if status:
                    return self.answer(status, {"error": {"message": f"stub says {status}", "code": status}})
                if path == "/v1/models":
                    return self.answer(200, {"object": "list", "data": stub.models})
                if path == "/v1/completions" and stub.refuse_extensions and (
                        "return_token_ids" in body or "skip_special_tokens" in body):
                    return self.answer(400, {"error": {"message": "Unrecognized request argument supplied"}})
                if path == "/v1/completions" and body.get("max_tokens") == 1 and isinstance(body["prompt"], str) and "stop" not in body:
                    stub.probes.append(body)
                    choice = {"index": 0, "text": "!", "logprobs": None, "finish_reason": "length"}
                    if stub.token_ids:
                        choice["token_ids"] = [0]
                    usage = {"prompt_tokens": toy_count(body["prompt"]), "completion_tokens": 1, "total_tokens": 0}
                    return self.answer(200, {"id": "p", "object": "text_completion", "created": 0,
                                             "model": body["model"], "choices": [choice], "usage": usage})
                if path == "/v1/completions":
                    stub.requests.append(body)
                    reply = stub.replies.pop(0)
                    if "raw" in reply:  # a whole reply body, malformed on purpose
                        return self.answer(200, reply["raw"])
                    if "error" in reply:  # (status, message): a refusal scripted for this round
                        status, message = reply["error"]
                        return self.answer(status, {"error": {"message": message, "code": status}})
                    usage = reply.pop("usage", None)
                    choice = {"index": 0, "text": "", "logprobs": None, **reply}
                    return self.answer(200, {"id": "c", "object": "text_completion", "created": 0,
                                             "model": body["model"], "choices": [choice], "usage": usage})
                return self.answer(404, {"error": {"message": "not found"}})

            def do_GET(self):
                self.handle_any(None)

            def do_POST(self):
                self.handle_any(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.server.shutdown()
    server.server.server_close()


def stub_backend(stub, smollm2_dir, **options):
    return OpenAIBackend("stub-model", base_url=stub.url, tokenizer=str(smollm2_dir), max_retries=0, **options)


def test_unreachable_server_fails_fast_with_url():
    url = f"http://127.0.0.1:{free_port()}/v1"  # bound, then closed: nothing listens there
    start = time.monotonic()
    with pytest.raises(S1kitError, match=r"unreachable after 2 retries \(ConnectError") as info:
        OpenAIBackend("m", base_url=url, max_retries=2, tokenizer="unused")
    assert url in str(info.value)
    assert time.monotonic() - start < 10


def test_rejected_api_key(stub, smollm2_dir):
    stub.status["*"] = 401
    with pytest.raises(S1kitError, match="rejected the API key .*HTTP 401.*--api-key or OPENAI_API_KEY"):
        stub_backend(stub, smollm2_dir, api_key="wrong")


def test_model_not_served_lists_what_is(stub, smollm2_dir):
    stub.models = [{"id": "alpha", "object": "model"}, {"id": "beta", "object": "model"}]
    with pytest.raises(S1kitError, match="does not serve model 'stub-model'; it serves: alpha, beta; pass one"):
        stub_backend(stub, smollm2_dir)


def test_no_completions_endpoint(stub, smollm2_dir):
    stub.status["/v1/completions"] = 404
    backend = stub_backend(stub, smollm2_dir)
    assert backend.context_length == 4096
    with pytest.raises(S1kitError, match="has no completions endpoint \\(HTTP 404"):
        generate_with_budget(backend, ["hi"], BudgetConfig(max_thinking_tokens=8), fmt="s1", progress=False)


def test_a_tokenizer_asked_for_must_load(stub, tmp_path):
    with pytest.raises(S1kitError, match=f"--tokenizer {tmp_path} did not load .*--tokenizer none"):
        OpenAIBackend("stub-model", base_url=stub.url, tokenizer=str(tmp_path))


def test_bad_options(stub, smollm2_dir):
    with pytest.raises(S1kitError, match="concurrency must be an integer >= 1, got 0"):
        stub_backend(stub, smollm2_dir, concurrency=0)
    with pytest.raises(S1kitError, match="not an http"):
        OpenAIBackend("m", base_url="127.0.0.1:8000")


def test_rounds_stop_ids_and_out_of_vocabulary_ids(stub, smollm2_dir):
    """One request, scripted round by round, through the quirks the loop must absorb:
    a stop id left out of the ids (round 1), an id beyond the tokenizer (round 2), and a server
    that ignores stop_token_ids and keeps generating after an end (round 2)."""
    backend = stub_backend(stub, smollm2_dir)
    tok = backend.tokenizer
    oov = len(tok.hf) + 5
    end, im_start = 2, 1  # <|im_end|>, <|im_start|>
    stub.replies = [
        {"token_ids": [28, 29], "finish_reason": "stop", "stop_reason": end},  # stop id not in ids
        {"token_ids": [30, oov, im_start, 31, 32], "finish_reason": "length"},  # extras after the end
        {"token_ids": [33, end], "finish_reason": "stop", "stop_reason": end},
    ]
    budget = BudgetConfig(max_thinking_tokens=20, num_ignore=1, max_answer_tokens=5)
    [g] = generate_with_budget(backend, ["hi"], budget, fmt="s1", progress=False)
    wait = tok.encode("Wait")
    opener = tok.encode("<|im_start|>answer\n")
    assert g.token_ids == [28, 29, *wait, 30, oov, *opener, 33, end]
    assert g.forced_mask == [False, False] + [True] * len(wait) + [False, False] + [True] * len(opener) + [False, False]
    assert (g.waits_inserted, g.thinking_tokens, g.finish_reason) == (1, 4 + len(wait), "stop")
    # The out-of-vocabulary id is re-sent as the model chose it; its text is empty.
    prompt = stub.requests[0]["prompt"]
    assert stub.requests[1]["prompt"] == prompt + [28, 29, *wait]
    assert stub.requests[2]["prompt"] == prompt + g.token_ids[:-2]
    assert [r["max_tokens"] for r in stub.requests] == [20, 20 - 2 - len(wait), 5]
    assert stub.requests[0]["stop_token_ids"] == sorted({im_start, end})
    assert stub.requests[2]["stop_token_ids"] == [end]
    assert g.thinking == tok.decode([28, 29, *wait, 30])


def test_server_refusing_out_of_vocabulary_ids(stub, smollm2_dir):
    """Older servers refuse a sampled id beyond the tokenizer when it comes back in the prompt."""
    backend = stub_backend(stub, smollm2_dir)
    oov = len(backend.tokenizer.hf) + 5
    stub.replies = [{"token_ids": [28, oov], "finish_reason": "length"},
                    {"error": (400, f"Token id {oov} is out of vocabulary")}]
    budget = BudgetConfig(max_thinking_tokens=4, max_answer_tokens=5)
    with pytest.raises(S1kitError, match=f"refused a token id the model itself sampled \\(Token id {oov} is out of vocabulary"):
        generate_with_budget(backend, ["hi"], budget, fmt="s1", progress=False)


def test_server_forcing_refuses_a_server_that_does_not_force(stub, smollm2_dir):
    # A server without the processor (or with raw logprobs) reports ordinary logprobs: the probe,
    # whose second token must be forced, sees no forced token and says how to start the server.
    stub.replies.append({"token_ids": [28, 29], "finish_reason": "length",
                         "logprobs": {"tokens": ["a", "b"], "token_logprobs": [-0.5, -0.1], "top_logprobs": None,
                                      "text_offset": [0, 1]}})
    with pytest.raises(S1kitError, match="does not force tokens: start it with --logits-processors"):
        stub_backend(stub, smollm2_dir, server_forcing=True)
    assert stub.requests[0]["vllm_xargs"]["s1kit"].startswith("{")


# --- text rounds: servers without token ids, or no local tokenizer (openai_text.py) -------------


def test_text_rounds_count_with_the_server_usage(stub):
    with pytest.warns(UserWarning, match="no local tokenizer for 'stub-model'.*server-usage"):
        backend = OpenAIBackend("stub-model", base_url=stub.url, max_retries=0)
    assert backend.tokenizer is None
    stub.replies = [
        {"text": "a b c", "finish_reason": "stop", "usage": {"prompt_tokens": 99, "completion_tokens": 4}},
        {"text": " d e", "finish_reason": "length", "usage": {"prompt_tokens": 0, "completion_tokens": 16}},
        {"text": " 42", "finish_reason": "stop", "usage": {"prompt_tokens": 0, "completion_tokens": 2}},
    ]
    budget = BudgetConfig(max_thinking_tokens=20, num_ignore=1, max_answer_tokens=5)
    [g] = generate_with_budget(backend, ["hi"], budget, fmt="s1", progress=False)
    # Round 1: 4 tokens, the last the end the server stopped at: 3 thinking tokens, then Wait (1).
    # Round 2 asks for the 16 left and reaches the cap; round 3 answers after the forced prefix.
    assert (g.thinking, g.answer) == ("a b cWait d e", "Final Answer: 42")
    assert (g.thinking_tokens, g.answer_tokens, g.waits_inserted, g.forced_end, g.finish_reason) == (20, 5, 1, True, "stop")
    assert g.forced_spans == [{"start": 3, "end": 4, "kind": "wait", "text": "Wait", "char_start": 5, "char_end": 9},
                              {"start": 20, "end": 28, "kind": "cap", "text": "\n<|im_start|>answer\nFinal Answer:",
                               "char_start": 13, "char_end": 46}]
    assert (g.prompt_tokens, g.token_count_source, g.token_ids, g.forced_mask) == (99, "server-usage", [], [])
    # Without a tokenizer the prompt is ChatML with Qwen2.5's default system prompt (s1's template).
    prompt = ("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
              "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n")
    assert [r["prompt"] for r in stub.requests] == [prompt, prompt + "a b cWait", prompt + "a b cWait d e\n<|im_start|>answer\nFinal Answer:"]
    assert [r.get("max_tokens") for r in stub.requests] == [20, 16, 5]
    assert [r.get("stop") for r in stub.requests] == [["<|im_start|>", "<|im_end|>"]] * 2 + [None]
    assert all(r["skip_special_tokens"] is False for r in stub.requests)
    # Forced pieces were measured once, each after a special token; then no more probes.
    assert [p["prompt"] for p in stub.probes][-5:] == ["<|im_start|>", "<|im_start|>Wait", "<|im_start|><|im_start|>answer\n",
                                                       "<|im_start|>\n<|im_start|>answer\n", "<|im_start|>Final Answer:"]


def test_text_rounds_with_a_local_tokenizer_on_a_server_without_extensions(stub, smollm2_dir):
    """A hosted API: vLLM's extra fields refused (400), no ids; the local tokenizer counts."""
    stub.refuse_extensions = True
    backend = stub_backend(stub, smollm2_dir)
    stub.replies = [{"text": " hello", "finish_reason": "length", "usage": {"prompt_tokens": 9, "completion_tokens": 1}},
                    {"text": " 4", "finish_reason": "stop", "usage": {"prompt_tokens": 9, "completion_tokens": 2}}]
    with pytest.warns(UserWarning, match="returns no token ids: budget forcing goes by text rounds"):
        [g] = generate_with_budget(backend, ["hi"], BudgetConfig(max_thinking_tokens=1, max_answer_tokens=5), fmt="s1", progress=False)
    tok = backend.tokenizer
    assert (g.thinking, g.answer, g.token_count_source) == (" hello", "Final Answer: 4", "local-tokenizer")
    assert (g.thinking_tokens, g.answer_tokens) == (1, len(tok.encode("Final Answer: 4")))
    assert g.prompt_tokens == len(tok.encode(stub.requests[0]["prompt"]))
    assert not any("skip_special_tokens" in r or "return_token_ids" in r for r in stub.requests)


def test_text_rounds_need_a_format_and_usage_without_a_tokenizer(stub, tmp_path):
    backend = OpenAIBackend("stub-model", base_url=stub.url, tokenizer="none", max_retries=0)
    with pytest.raises(S1kitError, match="cannot tell its chat format; pass --format s1 or --format think-tags"):
        generate_with_budget(backend, ["hi"], BudgetConfig(max_thinking_tokens=4), fmt="auto", progress=False)
    stub.replies = [{"text": "a", "finish_reason": "length"}]  # no usage figures
    with pytest.raises(S1kitError, match="reports no usage figures.*pass --tokenizer"):
        generate_with_budget(backend, ["hi"], BudgetConfig(max_thinking_tokens=4), fmt="s1", progress=False)


def test_text_rounds_render_a_chat_template_file(stub, tmp_path):
    template = tmp_path / "chat.jinja"
    template.write_text("{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}[assistant]")
    backend = OpenAIBackend("stub-model", base_url=stub.url, tokenizer="none", chat_template=str(template))
    stub.replies = [{"text": "ok", "finish_reason": "stop", "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
                    {"text": "fine", "finish_reason": "stop", "usage": {"prompt_tokens": 5, "completion_tokens": 2}}]
    [g] = generate_with_budget(backend, ["hi"], BudgetConfig(), fmt="think-tags", system_prompt="be brief", progress=False)
    assert stub.requests[0]["prompt"] == "[system]be brief[user]hi[assistant]<think>\n"
    assert stub.requests[1]["prompt"] == "[system]be brief[user]hi[assistant]<think>\nok</think>\n\n"
    assert (g.thinking, g.answer, g.thinking_tokens, g.answer_tokens) == ("ok", "fine", 1, 1)  # stop tokens not counted
    template.write_text("{% for m in messages %")
    broken = OpenAIBackend("stub-model", base_url=stub.url, tokenizer="none", chat_template=str(template))
    with pytest.raises(S1kitError, match="is not a valid Jinja template"):
        generate_with_budget(broken, ["hi"], BudgetConfig(), fmt="s1", progress=False)


@pytest.fixture(scope="module")
def nano_template(nano_backend, tmp_path_factory):
    """s1-nano's own chat template as a file: what a user without the tokenizer passes."""
    path = tmp_path_factory.mktemp("template") / "s1-nano.jinja"
    path.write_text(nano_backend.tokenizer.hf.chat_template)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("source", ["server-usage", "local-tokenizer"])
@pytest.mark.parametrize("budget_name", sorted(NANO_BUDGETS))
def test_text_rounds_over_http_equal_hf(vllm_server, nano_backend, nano_template, budget_name, source):
    """Text rounds against `vllm serve` give hf's thinking, answer, counts and spans. Measured
    difference: the text leaves out the final end-of-turn token, which servers do not return."""
    if source == "server-usage":
        backend = OpenAIBackend(SERVED_NAME, base_url=vllm_server, api_key=SERVER_KEY, tokenizer="none", chat_template=nano_template)
    else:
        backend = OpenAIBackend(SERVED_NAME, base_url=vllm_server, api_key=SERVER_KEY)
        backend._text_mode = True  # as if the server returned no ids: vLLM always does
    budget = NANO_BUDGETS[budget_name]
    got = generate_with_budget(backend, NANO_QUESTIONS, budget, fmt="s1", progress=False)
    want = generate_with_budget(nano_backend, NANO_QUESTIONS, budget, fmt="s1", progress=False)
    for g, w in zip(got, want, strict=True):
        assert g.token_count_source == source
        assert (g.thinking, g.answer, g.forced_spans) == (w.thinking, w.answer, w.forced_spans)
        assert (g.thinking_tokens, g.answer_tokens, g.waits_inserted, g.forced_end, g.finish_reason, g.prompt_tokens) == (
            w.thinking_tokens, w.answer_tokens, w.waits_inserted, w.forced_end, w.finish_reason, w.prompt_tokens)
        assert g.text == (w.text.removesuffix("<|im_end|>") if w.finish_reason == "stop" else w.text)


@pytest.mark.slow
def test_sweep_continuations_over_http_equal_hf(openai_backend, nano_backend):
    """Continued answers go by rounds from the shared prefix, sent once in the prompt."""
    assert_sweep_matches(openai_backend, nano_backend)


@pytest.mark.parametrize("body, missing", [
    ({"id": "x"}, "choices"),
    ({"id": "x", "choices": []}, "choices"),
    ({"id": "x", "choices": [{"index": 0, "finish_reason": "stop"}]}, r"choices\[0\].text"),
    ({"id": "x", "choices": [{"index": 0, "text": 5}]}, r"choices\[0\].text"),
])
def test_a_malformed_reply_is_retried_then_one_line(stub, smollm2_dir, body, missing):
    backend = OpenAIBackend("stub-model", base_url=stub.url, tokenizer=str(smollm2_dir), max_retries=1)
    stub.replies = [{"raw": body}, {"raw": body}]
    with pytest.raises(S1kitError, match=rf"answered POST /completions 2 time\(s\) without {missing}"):
        backend.completion(prompt=[1, 2], max_tokens=2)
    assert not stub.replies  # tried twice


def test_a_malformed_reply_then_a_good_one_goes_on(stub, smollm2_dir):
    backend = OpenAIBackend("stub-model", base_url=stub.url, tokenizer=str(smollm2_dir), max_retries=1)
    stub.replies = [{"raw": {"id": "x"}}, {"text": "ok", "finish_reason": "stop"}]
    assert backend.completion(prompt=[1, 2], max_tokens=2).choices[0].text == "ok"


def test_a_models_list_without_data_is_one_line(stub, smollm2_dir):
    stub.models = None
    with pytest.raises(S1kitError, match=r"answered GET /models without a list of models"):
        stub_backend(stub, smollm2_dir)
