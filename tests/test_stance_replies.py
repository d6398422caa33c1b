"""Reply structure as stance evidence (pipeline/stance/replies.py), the fallback stance stage, and
`stancemap evaluate replies` on ChangeMyView-format XML."""

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stancemap.cli import app
from stancemap.config import StanceParams, load_params
from stancemap.errors import ConfigError, InputError, StancemapError
from stancemap.evaluate import replies as evaluation
from stancemap.io import read_table, write_table
from stancemap.schemas import CLAIMS, COMMENTS, REPLIES, SchemaError
from stancemap.stance.replies import negation_mirror, rebuttal, reply_edges, sides_toward_opening_post
from stancemap.stance.stage import run as stance_run
from tests.conftest import shared_path


def comments(rows: list[tuple], thread: str = "t") -> pl.DataFrame:
    """A comments table from (id, parent, author, text[, quotes]) rows, in order."""
    data = {name: [] for name in COMMENTS}
    for row in rows:
        cid, parent, author, text = row[:4]
        quotes = row[4] if len(row) > 4 else []
        data["comment_id"].append(cid)
        data["thread_id"].append(thread)
        data["parent_id"].append(parent)
        data["depth"].append(0)
        data["author"].append(author)
        data["created_at"].append(None)
        data["text"].append(text)
        data["quotes"].append(quotes)
        data["url"].append(None)
        data["score"].append(None)
        data["is_deleted"].append(False)
        data["duplicate_of"].append(None)
        data["repeats"].append(1)
        data["source"].append("jsonl")
        data["source_file"].append("x.jsonl")
        data["source_line"].append(None)
    return pl.DataFrame(data, schema=COMMENTS)


def claims_of(table: pl.DataFrame) -> pl.DataFrame:
    """One claim per comment, the whole text."""
    return pl.DataFrame(
        {
            "claim_id": [f"{c}#0" for c in table["comment_id"]],
            "comment_id": table["comment_id"],
            "position": [0] * table.height,
            "start": [0] * table.height,
            "end": [len(t) for t in table["text"]],
            "text": table["text"],
            "kind": ["claim"] * table.height,
        },
        schema=CLAIMS,
    )


DEBATE = comments(
    [
        ("op", None, "ann", "Distillation is theft of the lab's work."),
        ("r1", None, "bob", "No, that's wrong: they paid for every token."),
        ("r2", "r1", "cat", "Exactly. Paying for access is not stealing."),
        ("r3", "r2", "ann", "I disagree, the terms forbid it."),
        ("r4", "op", "dan", "Export controls are a separate question."),
        ("r5", "r4", "eve", "Agreed."),
    ]
)


def test_cues_give_rebut_agree_or_unknown():
    no = rebuttal("Distillation is theft.", "No, distillation is not theft.")
    assert no.relation == "rebut" and "disagree_cue" in no.evidence and "negation_mirror" in no.evidence
    assert no.p_rebut > 0.9
    assert rebuttal("X is fine.", "Agreed, well said.").relation == "agree"
    for opener in ("This.", "+1", "Exactly right.", "Good point about the costs."):
        assert rebuttal("X is fine.", opener).relation == "agree", opener
    for opener in ("That's not how contracts work.", "Not really, the costs differ.", "Yes it does."):
        assert rebuttal("X is fine.", opener).relation == "rebut", opener
    # answers to a motion: support and opposition are agreement and rebuttal
    motion = "Motion: members pledge not to distil competitors' models."
    for opener in ("Strongly support this.", "I support the motion.", "I'm in favour.", "I'll vote for it."):
        assert rebuttal(motion, opener).relation == "agree", opener
    for opener in ("I'll be voting against, sorry.", "I'm against it.", "I oppose the pledge.", "Against this."):
        assert rebuttal(motion, opener).relation == "rebut", opener
    plain = rebuttal("X is fine.", "The weather was nice in Lisbon.")
    assert (plain.relation, plain.p_rebut, plain.evidence) == ("unknown", 0.5, ())
    assert rebuttal("X is fine.", "The weather was nice.", prior=0.8).relation == "rebut"  # the prior decides
    # "Yes, but" concedes and then answers: the gold splits those, so it carries no weight
    assert rebuttal("X is fine.", "Yes, but the cost is huge.").evidence == ("concede_but",)


def test_quoting_the_parent_then_disagreeing():
    reply = "> Buying a book doesn't let you copy it.\nNo, but reading it teaches you."
    start, end = 0, reply.index("\n")
    edge = rebuttal("Buying a book doesn't let you copy it.", reply, [(start, end)], quotes_parent=True)
    assert {"quotes_parent", "disagree_after_quote"} <= set(edge.evidence) and edge.relation == "rebut"


def test_negation_mirror():
    assert negation_mirror("Distillation is theft of work.", "Distillation is not theft of work.")
    assert not negation_mirror("Distillation is theft of work.", "Distillation is theft of work.")
    assert not negation_mirror("Distillation is theft.", "The weather isn't nice.")
    assert not negation_mirror("Is distillation theft?", "Distillation is not theft.")  # a question asserts nothing
    # links are not statements: a URL split at its dots does not mirror anything
    assert not negation_mirror(
        "The text: https://example.org/wg/code-of-conduct#section-4 for members.",
        "That code of conduct section does not apply.",
    )


def test_sides_flip_on_rebut_keep_on_agree_and_stop_at_unknown():
    edges = reply_edges(DEBATE)
    relation = dict(edges.select("comment_id", "relation").iter_rows())
    assert relation == {"op": "root", "r1": "rebut", "r2": "agree", "r3": "rebut", "r4": "unknown", "r5": "agree"}
    assert dict(edges.select("comment_id", "parent").iter_rows())["r1"] == "op"  # a top-level reply answers the OP
    p = sides_toward_opening_post(edges)
    assert p["op"] == 1.0 and p["r1"] < 0.2 and p["r2"] < p["r1"] + 0.1 and p["r3"] > 0.6
    assert p["r4"] == 0.5 and p["r5"] == 0.5  # nothing known below an unknown edge
    # P(with) = (1 + product of (1 - 2 P(rebut)) along the path) / 2
    q = dict(edges.select("comment_id", "p_rebut").iter_rows())
    assert p["r2"] == pytest.approx((1 + (1 - 2 * q["r1"]) * (1 - 2 * q["r2"])) / 2)


def test_a_flat_dump_links_replies_only_by_quotes():
    flat = comments(
        [
            ("a", None, None, "Scraping is legal, so distillation is legal."),
            (
                "b",
                None,
                None,
                "> Scraping is legal\nNo, legality is not the point.",
                [{"start": 0, "end": 19, "quoted_id": "a"}],
            ),
            ("c", None, None, "No, I think so too."),
        ]
    )
    edges = reply_edges(flat)
    assert edges["parent"].to_list() == [None, "a", None]
    assert edges["relation"].to_list() == ["root", "rebut", "none"]
    assert sides_toward_opening_post(edges)["c"] == 0.5


def test_a_reply_naming_another_participant_answers_them():
    table = comments(
        [
            ("op", None, "host", "Questions for the list: is distillation theft?"),
            ("a", None, "trade_counsel", "Contract law already covers it."),
            ("b", None, "jpb_law", "+1 to trade_counsel. Criminal law is the wrong tool."),
        ]
    )
    edges = reply_edges(table)
    assert dict(edges.select("comment_id", "parent").iter_rows())["b"] == "a"
    assert dict(edges.select("comment_id", "relation").iter_rows())["b"] == "agree"


def test_stage_falls_back_to_reply_structure(tmp_path):
    claims_path, comments_path, out = tmp_path / "claims.parquet", tmp_path / "comments.parquet", tmp_path / "s.parquet"
    write_table(claims_of(DEBATE), claims_path, "claims")
    write_table(DEBATE, comments_path, "comments")
    table = stance_run(StanceParams(fallback="replies"), claims=claims_path, out=out, comments=comments_path)
    assert read_table(out, "stances").height == table.height == DEBATE.height
    assert set(table["proposition"].to_list()) == {0}
    stance = dict(zip([c.split("#")[0] for c in table["claim_id"]], table["stance"], strict=True))
    assert stance == {"op": "pro", "r1": "con", "r2": "con", "r3": "pro", "r4": "neither", "r5": "neither"}
    # no sides: fallback off, or no comments table given
    assert stance_run(StanceParams(fallback="none"), claims=claims_path, out=out, comments=comments_path).height == 0
    assert stance_run(StanceParams(fallback="replies"), claims=claims_path, out=out).height == 0
    # found: the stance table stays empty, the positions stage gives the sides after clustering
    found = StanceParams(fallback="found")
    assert stance_run(found, claims=claims_path, out=out, comments=comments_path).height == 0
    assert StanceParams().fallback == "replies"  # the default, as measured in docs/stance.md


def test_stage_writes_no_sides_when_only_opening_posts_have_one(tmp_path):
    quiet = comments([("op", None, "a", "Is distillation theft?"), ("r", None, "b", "It depends on the contract.")])
    claims_path, comments_path, out = tmp_path / "claims.parquet", tmp_path / "comments.parquet", tmp_path / "s.parquet"
    write_table(claims_of(quiet), claims_path, "claims")
    write_table(quiet, comments_path, "comments")
    assert stance_run(StanceParams(fallback="replies"), claims=claims_path, out=out, comments=comments_path).height == 0


def test_a_thread_without_reply_sides_has_no_sides(tmp_path):
    """Beside a debate with sides, a thread whose replies show no side keeps its opening post at
    "neither": a question is not "pro" toward itself."""
    quiet = comments(
        [("qop", None, "a", "Is distillation theft?"), ("qr", None, "b", "It depends on the contract.")], "quiet"
    )
    both = pl.concat([DEBATE, quiet])
    claims_path, comments_path, out = tmp_path / "claims.parquet", tmp_path / "comments.parquet", tmp_path / "s.parquet"
    write_table(claims_of(both), claims_path, "claims")
    write_table(both, comments_path, "comments")
    table = stance_run(StanceParams(fallback="replies"), claims=claims_path, out=out, comments=comments_path)
    stance = dict(zip([c.split("#")[0] for c in table["claim_id"]], table["stance"], strict=True))
    p_pro = dict(zip([c.split("#")[0] for c in table["claim_id"]], table["p_pro"], strict=True))
    assert stance["op"] == "pro" and stance["r1"] == "con"  # the debate keeps its sides
    assert stance["qop"] == stance["qr"] == "neither" and p_pro["qop"] == 0.5


def stage_inputs(tmp_path, table: pl.DataFrame = DEBATE):
    paths = tmp_path / "claims.parquet", tmp_path / "comments.parquet", tmp_path / "s.parquet", tmp_path / "r.parquet"
    write_table(claims_of(table), paths[0], "claims")
    write_table(table, paths[1], "comments")
    return paths


def test_stage_writes_the_replies_it_takes_sides_from(tmp_path, monkeypatch):
    import stancemap.stance.replies as detector

    claims_path, comments_path, out, replies_out = stage_inputs(tmp_path)
    calls = []
    monkeypatch.setattr(detector, "reply_edges", lambda *a: calls.append(a) or reply_edges(*a))
    for prior in (0.5, 0.8):
        params = StanceParams(fallback="replies", reply_prior=prior)
        table = stance_run(params, claims=claims_path, out=out, comments=comments_path, replies=replies_out)
        replies = read_table(replies_out, "replies")
        assert calls[-1][1] == prior and len(calls) == (1 if prior == 0.5 else 2)  # once per run, at its prior
        # the opening post has no row; r1 answers the opening post without being its child
        assert replies["comment_id"].to_list() == ["r1", "r2", "r3", "r4", "r5"]
        assert replies["parent_id"].to_list() == ["op", "r1", "r2", "op", "r4"]
        assert replies["direct"].to_list() == [False, True, True, True, True]
        assert replies.filter(pl.col("comment_id") == "r1")["evidence"].to_list() == [["disagree_cue"]]
        relation = dict(replies.select("comment_id", "relation").iter_rows())
        stance = dict(zip([c.split("#")[0] for c in table["claim_id"]], table["stance"], strict=True))
        # the same edges, the same prior: r4 carries no evidence, so its side follows the prior
        assert (relation["r4"], stance["r4"]) == (("unknown", "neither") if prior == 0.5 else ("rebut", "con"))


def test_stage_writes_the_replies_table_always(tmp_path):
    class Unsure:  # P(pro, con, neither) per pair
        def predict(self, propositions, texts, batch_size=64):
            return np.tile(np.array([0.1, 0.1, 0.8], np.float32), (len(texts), 1))

    claims_path, comments_path, out, replies_out = stage_inputs(tmp_path)
    for params, model in [(StanceParams(propositions=("P",)), Unsure()), (StanceParams(fallback="none"), None)]:
        replies_out.unlink(missing_ok=True)
        stance_run(params, claims=claims_path, out=out, model=model, comments=comments_path, replies=replies_out)
        assert read_table(replies_out, "replies").height == 5
    claims_path, comments_path, out, replies_out = stage_inputs(tmp_path / "empty", comments([]))
    params = StanceParams(fallback="replies")
    stance_run(params, claims=claims_path, out=out, comments=comments_path, replies=replies_out)
    assert read_table(replies_out, "replies").schema == pl.Schema(REPLIES)  # empty, with its schema
    with pytest.raises(StancemapError, match="needs the comments table"):
        stance_run(StanceParams(), claims=claims_path, out=out, replies=replies_out)


def test_the_replies_schema_is_checked_on_write_and_read(tmp_path):
    replies = pl.DataFrame(
        {"comment_id": ["b"], "parent_id": ["a"], "direct": [True], "relation": ["rebut"], "p_rebut": [0.88],
         "evidence": [["disagree_cue"]]},
        schema=REPLIES,
    )
    write_table(replies, tmp_path / "r.parquet", "replies")
    assert read_table(tmp_path / "r.parquet", "replies").equals(replies)
    with pytest.raises(SchemaError, match="p_rebut is Float64"):
        write_table(replies.with_columns(pl.col("p_rebut").cast(pl.Float64)), tmp_path / "bad.parquet", "replies")
    with pytest.raises(SchemaError, match="missing column.*evidence"):
        write_table(replies.drop("evidence"), tmp_path / "bad.parquet", "replies")
    assert not (tmp_path / "bad.parquet").exists()
    replies.drop("direct").write_parquet(tmp_path / "old.parquet")  # hand-made or stale
    with pytest.raises(SchemaError, match="not a valid replies table"):
        read_table(tmp_path / "old.parquet", "replies")


def test_stance_command_writes_replies(tmp_path):
    claims_path, comments_path, out, replies_out = stage_inputs(tmp_path)
    (tmp_path / "params.yaml").write_text("stance:\n  fallback: replies\n", encoding="utf-8")
    args = ["--quiet", "stance", str(claims_path), "--comments", str(comments_path), "--out", str(out),
            "--replies", str(replies_out), "--params", str(tmp_path / "params.yaml"), "--set", "stance.reply_prior=0.8"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    replies = read_table(replies_out, "replies")
    assert replies.filter(pl.col("comment_id") == "r4")["relation"].to_list() == ["rebut"]  # at the prior set
    assert read_table(out, "stances").height == DEBATE.height


def test_fallback_params_are_checked(tmp_path):
    assert load_params(None, ["stance.fallback=none"]).stance.fallback == "none"
    with pytest.raises(ConfigError, match="stance.fallback"):
        load_params(None, ["stance.fallback=maybe"])
    with pytest.raises(ConfigError, match="stance.reply_prior"):
        load_params(None, ["stance.reply_prior=1.0"])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200), st.floats(0.01, 0.99))
def test_the_detector_takes_any_text(parent, reply, prior):
    edge = rebuttal(parent, reply, prior=prior)
    assert 0.0 <= edge.p_rebut <= 1.0 and edge.relation in ("rebut", "agree", "unknown")


# a ChangeMyView-modes thread: the OP agrees with the title, the challenger rebuts it, the OP
# rebuts back, then the challenger concedes
THREAD = """<?xml version="1.0"?>
<thread ID="t1">
<title><claim type="interpretation">CMV: Distillation is theft & should be banned.</claim></title>
<source>http://example.org</source>
<OP author="ann">
<claim id="0" rel="agreement" ref="title">Distilling a model copies the work of the lab.</claim>
<premise id="1" rel="support" ref="0">The lab paid for the data.</premise>
</OP>
<reply id="r1" author="bob">
<claim id="2" rel="rebuttal" ref="0">No, it is not copying, they paid for the tokens.</claim>
</reply>
<reply id="r2" author="ann">
<claim id="3" rel="undercutter" ref="2">I disagree, paying for tokens does not buy the model.</claim>
</reply>
<reply id="r3" author="bob">
<claim id="4" rel="agreement" ref="3">Agreed, that is a fair point about the terms.</claim>
</reply>
</thread>
"""


def write_thread(folder, name: str = "1", text: str = THREAD):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.xml").write_text(text, encoding="utf-8")
    return folder


def test_gold_relations_and_signs_from_the_xml(tmp_path):
    (thread,) = evaluation.load_xml_folder(write_thread(tmp_path / "cmv"))
    assert [p.post_id for p in thread.posts] == ["op", "r1", "r2", "r3"]
    assert evaluation.gold_relations(thread) == [None, "rebut", "rebut", "agree"]
    assert evaluation.gold_signs(thread) == [[1, 1], [-1], [1], [1]]
    table = evaluation.comments_table(thread)
    assert table["parent_id"].to_list() == [None, None, "cmv:1:r1", "cmv:1:r2"]


def test_evaluation_scores_and_baselines(tmp_path):
    folder = write_thread(tmp_path / "cmv")
    result = evaluation.run(folder, StanceParams(), tmp_path / "out.json")
    m = result["mean"]
    assert (m["replies"], m["gold_rebut"], m["gold_agree"], m["units"]) == (3, 2, 1, 3)
    assert m["relation_accuracy"] == 1.0 and m["rebut_F1"] == 1.0 and m["agree_P"] == 1.0
    assert m["majority_accuracy"] == pytest.approx(2 / 3)
    # predicted sides: r1 against, r2 with, r3 with (agrees with r2): all right
    assert m["side_accuracy"] == 1.0 and m["side_coverage"] == 1.0
    assert m["all_against"] == pytest.approx(1 / 3) and m["all_with"] == pytest.approx(2 / 3)
    assert m["every_reply_rebuts"] == pytest.approx(2 / 3)  # it calls bob's concession "against"
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["mean"] == m
    assert evaluation.table(result).splitlines()[-1].startswith("MEAN (pooled over 3 replies, 3 units) rebut_P=1.000")


def test_evaluate_replies_command(tmp_path):
    folder = write_thread(tmp_path / "cmv")
    result = CliRunner().invoke(app, ["evaluate", "replies", str(folder), "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("MEAN ")
    assert (tmp_path / "r.json").exists()


def test_bad_xml_is_a_clear_error(tmp_path):
    folder = write_thread(tmp_path / "cmv", text="<thread><reply>unclosed</thread>")
    with pytest.raises(InputError, match="not well-formed"):
        evaluation.load_xml_folder(folder)


def test_on_the_changemyview_gold():
    """The numbers docs/stance.md reports, within a little: precise but sparse evidence."""
    result = evaluation.evaluate(shared_path("eval", "cmv_modes", "threads"), StanceParams())
    m = result["mean"]
    assert m["replies"] >= 140 and m["units"] >= 400
    assert m["rebut_P"] >= 0.9 and m["agree_P"] >= 0.8  # what the cues say is mostly right
    assert 0.15 <= m["side_coverage"] <= 0.5
    assert m["side_accuracy_covered"] >= m["all_against_covered"]
