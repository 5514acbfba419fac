"""A guide's steps as dialogue: starting, answering, ticking, going back, resuming.

The flow runner moves positions; this turns each move into the reply that shows it
and the state that remembers it.
"""

from __future__ import annotations

from dataclasses import replace

from bot.dialogue import callbacks
from bot.dialogue.flows import FlowRunner
from bot.dialogue.replies import Replies
from bot.dialogue.reply import Outcome
from bot.dialogue.state import FlowPos, State


class Guides:
    def __init__(self, flows: FlowRunner, replies: Replies) -> None:
        self.flows = flows
        self.replies = replies

    def start(self, state: State, flow_id: str) -> Outcome:
        pos = self.flows.start(flow_id)
        return Outcome([self.replies.flow_step(pos)], replace(state, flow=pos))

    def step(self, state: State, pos: FlowPos, press: callbacks.Callback) -> Outcome:
        """A choice, tick or done on the step shown; anything else shows the step again."""
        if press.kind == "choose":
            new = self.flows.choose(pos, press.index)
            edit = new is not None and self.flows.node(new).type != "result"
        elif press.kind == "toggle":
            new, edit = self.flows.toggle(pos, press.index), True
        else:
            new, edit = self.flows.done(pos), False
        if new is None:
            return Outcome([self.replies.flow_step(pos)], state)
        return Outcome([self.replies.flow_step(new, edit=edit)], replace(state, flow=new))

    def nav(self, state: State, pos: FlowPos, kind: str) -> Outcome:
        if kind == "restart":
            return self.start(state, pos.flow)
        new = self.flows.back(pos) if kind == "back" else None
        if new is None:  # resume, or back at the first step: show where the guide is
            return Outcome([self.replies.flow_step(pos)], state)
        return Outcome([self.replies.flow_step(new, edit=True)], replace(state, flow=new))
