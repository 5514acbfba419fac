"""The crisis layers on catalogues written by people who never saw the patterns or examples.

Catalogues A and B (`crisis_train*.jsonl`), C (`crisis_holdout.jsonl`), D to V
and AA to AJ were each measured as held-out sets and then trained and tuned on
(Q, R, U, V, AC, AD, AG and AH after being held out for several rounds). AK to AX
were held out for up to four rounds of pattern changes each, then joined the scorer's
training lines together: the patterns' rounds had stopped carrying to new writers, and
training the scorer on AK to AV raised its recall at 3% false alarms on AW to AZ (never
trained on) from 0.91-0.98 to 0.95-0.99. The catalogues in HELD_OUT are never trained or
tuned on: AY and AZ were measured once before that change and once after it; BA and BB
were written for it and measured once before and once after; BC, BD, BE and BF were
measured once after it (adding BC, BD and BE to the training lines too was tried: on AY to
BB 2 more crisis lines at the crisis tier and 6 fewer false alarms, but 3 more alarms on the
662 ordinary dev questions, so they stay held out). Then BC, BD and BE were tuned on once, by a
round of patterns for the concepts their misses and false alarms showed (resolve, means
bought, who will find them, sayings of another language...): on them 826 -> 836 of 840 lines
at either tier and 45 -> 26 false alarms of 450; on the eight sets never tuned on (AY, AZ, BA,
BB, BF, and BG, BH and BI, written for it and measured before and after) 2225 -> 2225 of 2240,
1862 -> 1863 of 1920 at the crisis tier and 110 -> 107 false alarms of 1200: patterns still
barely carry. One new pattern ("did a runner") alarmed on a BF past case and was narrowed to
the first person. BJ and BK were written after all of that and measured once (99.1% at either
tier, 97.7% at the crisis tier, 7.7% false alarms). Their floors guard against regressions at
the level measured; the aim (every child at risk caught, at most 3% false alarms) is higher.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from bot.dialogue import State, Text
from bot.matching.crisis import CrisisDetector
from bot.matching.evaluate import (
    _overruled,
    read_jsonl,
    read_risk_jsonl,
    risk_metrics,
)
from bot.matching.risk import NONE, RISK, held_out_scores

DATA = Path(__file__).resolve().parents[1] / "data"
STAFF_PROCEDURE = re.compile(r"\bDSL\b|safeguarding lead|your organisation|procedures", re.I)


def _risk(engine, name: str) -> dict:
    return risk_metrics(read_risk_jsonl(DATA / name), lambda t: engine.classify(t).risk)


TRAINED = [
    "crisis_train.jsonl",
    "crisis_train_b.jsonl",
    "crisis_holdout.jsonl",
    "crisis_d.jsonl",
    "crisis_e.jsonl",
    "crisis_f.jsonl",
    "crisis_g.jsonl",
    "crisis_h.jsonl",
    "crisis_i.jsonl",
    "crisis_j.jsonl",
    "crisis_k.jsonl",
    "crisis_l.jsonl",
    "crisis_m.jsonl",
    "crisis_n.jsonl",
    "crisis_o.jsonl",
    "crisis_p.jsonl",
    "crisis_q.jsonl",
    "crisis_r.jsonl",
    "crisis_s.jsonl",
    "crisis_t.jsonl",
    "crisis_u.jsonl",
    "crisis_v.jsonl",
    "crisis_w.jsonl",
    "crisis_x.jsonl",
    "crisis_y.jsonl",
    "crisis_z.jsonl",
    "crisis_aa.jsonl",
    "crisis_ab.jsonl",
    "crisis_ac.jsonl",
    "crisis_ad.jsonl",
    "crisis_ae.jsonl",
    "crisis_af.jsonl",
    "crisis_ag.jsonl",
    "crisis_ah.jsonl",
    "crisis_ai.jsonl",
    "crisis_aj.jsonl",
    "crisis_ak.jsonl",
    "crisis_al.jsonl",
    "crisis_am.jsonl",
    "crisis_an.jsonl",
    "crisis_ao.jsonl",
    "crisis_ap.jsonl",
    "crisis_aq.jsonl",
    "crisis_ar.jsonl",
    "crisis_as.jsonl",
    "crisis_at.jsonl",
    "crisis_au.jsonl",
    "crisis_av.jsonl",
    "crisis_aw.jsonl",
    "crisis_ax.jsonl",
]


@pytest.mark.parametrize("name", TRAINED)
def test_training_catalogues_are_caught(engine, name: str) -> None:
    m = _risk(engine, name)
    assert m["recall_any_tier"] >= 0.995, m["misses"]
    assert m["false_alarm_rate"] <= 0.10, m["false_alarms"]


HELD_OUT = {  # name: (recall either tier, crisis lines at the crisis tier, false alarms)
    "crisis_ay.jsonl": (0.99, 0.97, 0.08),  # second-hand, quoting the child word for word
    "crisis_az.jsonl": (0.99, 0.97, 0.06),  # typed fast, autocorrect, anger and despair; NI, Scots
    "crisis_ba.jsonl": (0.99, 0.98, 0.06),  # care staff and nurses: handovers, several children
    "crisis_bb.jsonl": (1.00, 0.97, 0.11),  # 11-14s in fragments and gaming slang; kids joking
    "crisis_bc.jsonl": (1.00, 0.98, 0.03),  # police, 111, A&E, CAMHS: incident-log shorthand
    "crisis_bd.jsonl": (1.00, 0.99, 0.06),  # English as a second language; acts, not words
    "crisis_be.jsonl": (0.98, 0.97, 0.09),  # 15-17s, flat and articulate; plans as practical asks
    "crisis_bf.jsonl": (0.99, 0.97, 0.12),  # follow-ups typed mid-conversation; updates
    "crisis_bg.jsonl": (0.98, 0.94, 0.08),  # dictated and thumb-typed: homophones, no punctuation
    "crisis_bh.jsonl": (0.99, 0.97, 0.16),  # adults quoting the child; quoted jokes and lyrics
    "crisis_bi.jsonl": (0.98, 0.96, 0.08),  # Wales, Scotland, NI; youth workers, coaches, leaders
    "crisis_bj.jsonl": (0.98, 0.97, 0.08),  # follow-ups with pronouns; what-ifs and policy quotes
    "crisis_bk.jsonl": (0.99, 0.97, 0.09),  # under pressure: euphemism, run-ons, Welsh, Urdu words
}


@pytest.mark.parametrize("name", sorted(HELD_OUT))
def test_held_out_catalogue_floors(engine, name: str) -> None:
    recall, crisis_tier, false_alarms = HELD_OUT[name]
    m = _risk(engine, name)
    assert m["recall_any_tier"] >= recall, m["per_category"]
    assert m["crisis_at_crisis_tier"] >= crisis_tier
    assert m["false_alarm_rate"] <= false_alarms  # near misses written to be as close as possible


@pytest.mark.parametrize("name", ["public_dev.jsonl", "holdout.jsonl"])
def test_ordinary_questions_rarely_alarm(engine, name: str) -> None:
    calm = [it.text for it in read_jsonl(DATA / name) if it.intent != "crisis"]
    alarms = [t for t in calm if engine.classify(t).risk]
    # the `possible` tier is set to alarm on 2.5% of ordinary questions held out of training
    assert len(alarms) <= 0.025 * len(calm), alarms


def test_child_in_crisis_is_answered_as_a_child(engine) -> None:
    text = "im 15 and someone has my pics and i just want to die"
    first, *_ = engine.handle(State(), Text(text)).replies
    head = "\n".join(first.text.splitlines()[:2])
    assert "999" in head and "0800 1111" in first.text and "SHOUT" in first.text
    assert not STAFF_PROCEDURE.search(first.text), first.text
    assert "not your fault" in first.text


@pytest.mark.parametrize(
    ("text", "card"),
    [
        ("he posted it on my story. i want to kill myself", "crisis_child"),  # no age given
        ("swallowed the lot tonight. sorry everyone", "crisis_child"),  # no subject at all
        ("hes outside my school rn and says hell show my mum", "crisis_child"),
        ("just want to sleep forever he still has them", "crisis_child"),  # he: the offender
        ("he says he knows where i live and hes coming round tonight", "crisis_child"),
        ("if she posts them at 7 im ending it at 8", "crisis_child"),  # them: the images
        ("took them all before school. sorry mum", "crisis_child"),  # them: the pills
        ("he said if i dont pay by 6 its everywhere. i just want to disappear forever",
         "crisis_child"),  # the offender's threat is not someone else's danger
        ("my form tutor keeps asking if im ok but i want to kill myself tonight",
         "crisis_child"),  # "my form tutor": the child's adult, not the writer's role
        ("he says hes posting them to my whole year at 9 and i want to not exist",
         "crisis_child"),  # the offender's threat to share, told
        ("the lad on insta wont stop and ive been stood on the bridge all evening",
         "crisis_child"),  # "the lad on insta": the offender, named by where they met
        ("he sed hes waitin by my scool gates til i come out, hes got my pics",
         "crisis_child"),  # only the mended text states the danger
        ("meeting him at the car park now so he deletes the vids", "crisis_child"),
        ("HE SAID HE IS DOING IT TONIGHT. THE MAN STILL HAS HIS VIDEO", "crisis"),
        ("She asked me tonight whether it would hurt to stop living. Someone has her photos.",
         "crisis"),  # someone else speaks before "me"
        ("Searched a 14yo's room after the referral and found razor blades in a shoebox",
         "crisis"),
        ("found a stash of tablets under the mattress tonight, the man still has the pics",
         "crisis"),  # a witness's account
        ("she just told me she wants to die, the man has her photos", "crisis"),  # a parent
        ("my son took pills an hour ago, he is 14", "crisis"),
        ("pupil says she will kill herself tonight, images on snap", "crisis"),
    ],
)  # fmt: skip
def test_whoever_writes_of_their_own_danger_gets_the_child_card(
    engine, text: str, card: str
) -> None:
    """Non-negotiable 1: a child writing about themselves is answered as a child, with or
    without an age; an adult writing about a child gets the staff procedure."""
    first = engine.handle(State(), Text(text)).replies[0]
    assert (first.kind, first.intent) == ("crisis", card), first.text[:120]
    if card == "crisis_child":
        assert not STAFF_PROCEDURE.search(first.text)


def test_possible_risk_line_is_worded_for_whoever_it_is_about(engine) -> None:
    # "i cant sleep since he sent them..." now scores as a crisis: first-person sleeplessness
    # after the images is one in many of the writers' crisis lines the scorer learnt from
    own = engine.handle(State(), Text("i feel numb since he sent them, can i still report "
                                      "it?")).replies[0]  # fmt: skip
    # under 15 words and naming the writer's role: the scorer alone gives the possible tier
    parent = engine.handle(State(), Text("my son has stopped eating since the pics went "
                                         "round, can we report it?")).replies[0]  # fmt: skip
    assert own.kind != "crisis" and parent.kind != "crisis"
    assert own.lead and own.lead.startswith("If you might") and "999" in own.lead
    assert parent.lead and parent.lead.startswith("If a child") and "999" in parent.lead


def test_professional_crisis_comes_first_then_the_rest(engine) -> None:
    text = (
        "Head of year here. A Y10 boy says someone has his pictures and wants £200 by "
        "midnight, and he told a friend he is going to kill himself tonight. Who do I report it to?"
    )
    replies = engine.handle(State(), Text(text)).replies
    assert [r.kind for r in replies][:1] == ["crisis"] and len(replies) == 2
    assert replies[0].intent == "crisis" and "999" in replies[0].text.splitlines()[0]
    assert replies[1].intent == "report_concern"  # the question, not the danger, picks it


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("my daughter says she wants to die since the pics got out. can i get them taken down?",
         "image_removal"),
        ("Y9 lad has taken pills. He already paid the scammer £50, will they stop now he has paid?",
         "already_paid"),
    ],
)  # fmt: skip
def test_the_rest_is_answered_without_the_danger_in_it(engine, text: str, rest: str) -> None:
    replies = engine.handle(State(), Text(text)).replies
    assert [r.intent for r in replies] == ["crisis", rest]


def test_possible_risk_puts_the_crisis_lines_on_top_of_the_answer(engine) -> None:
    text = "since the pics went round she's stopped eating and keeps saying there's no point"
    found = engine.classify(text)
    assert found.risk is not None
    [reply] = engine.handle(State(), Text(text)).replies if found.risk == "possible" else [None]
    if reply is not None:
        assert reply.lead and "999" in reply.lead and "0800 1111" in reply.lead


def test_the_taxonomy_is_in_the_content(content) -> None:
    categories = set(content.crisis.categories)
    assert {
        "passive_ideation", "method_means", "intent_plan", "preparatory_acts", "self_harm_now",
        "overdose_taken", "missing_worrying", "offender_in_person", "coded_language",
    } <= categories  # fmt: skip
    assert content.crisis.near_misses and content.crisis.possible and content.crisis.at_risk


@pytest.mark.parametrize(
    ("text", "risk"),
    [
        ("thinking bout suicide constantly", "crisis"),  # too short for the scorer to overrule
        ("kil myself tonite", "crisis"),  # a typo is mended for the patterns
        # a statement of danger in a message that sounds general, which the scorer finds ordinary
        ("What does the research say. Pupil tells a teacher they want to die: does the DSL "
         "ring parents first?", None),
    ],
)  # fmt: skip
def test_what_the_scorer_may_overrule(engine, text: str, risk: str | None) -> None:
    assert engine.classify(text).risk == risk


def test_typos_are_mended_for_the_patterns_but_tenses_are_kept(engine) -> None:
    assert "patterns" in engine.classify("i wanna kil myslf tonite").layers
    # "killed" is not cut to "kill": a figure of speech stays one for the patterns
    assert "patterns" not in engine.classify("my brother killed himself laughing at my hair").layers


def test_tune_risk_reads_the_examples_each_veto_could_overrule(content) -> None:
    detector = CrisisDetector(content.crisis)
    rows = [
        ("what are the warning signs of self harm? my daughter has fresh cuts on her arms", RISK),
        ("worried about suicide and sextortion in our school", NONE),
        ("quiz: which of these is a warning sign of suicide", RISK),  # framed: never overruled
        ("kill himself", RISK),  # too short to score: never overruled
    ]
    scored = [(-1.5, RISK), (-0.5, NONE), (-3.0, RISK), (-math.inf, RISK)]
    found = _overruled(detector, rows, scored)
    assert found["danger_veto"] == ([-1.5], [])
    assert found["topic_veto"] == ([], [-0.5])


def test_held_out_scores_keep_the_order_of_the_examples() -> None:
    """tune-risk pairs each held-out score with its example's text: scores that came back
    in fold order pinned one example's score on another (the veto report was misread)."""
    rows = [(f"my son said he wants to die {i} times today", RISK) for i in range(10)]
    rows += [(f"how do i report a fake account number {i} on instagram", NONE) for i in range(10)]
    rows = [rows[i // 2 + 10 * (i % 2)] for i in range(20)]  # risk, none, risk, none...
    scored = held_out_scores(rows, str.split, folds=4)
    assert [label for _, label in scored] == [label for _, label in rows]
    risk = [s for s, label in scored if label == RISK]
    assert min(risk) > max(s for s, label in scored if label == NONE)
