"""One drone's MASH computation, ROS-free: arrays in, arrays out, the core's role API inside.

The drone node converts messages to the arrays this takes and back; tests run it with no ROS
graph. Every call works on one agent (batch of one), in inference mode.
"""
from __future__ import annotations

import numpy as np
import torch

from mash_ros.core.codecs import WireFormatError
from mash_ros.core.fusion import build_fusion
from mash_ros.core.roles import AgentState, Response, preprocess


class MashAgent:
    """Wraps a trained MASH model for one agent.

    fusion / threshold / budget / own_weight override the model's own when given; a fusion
    mode with weights of its own (stacked) can only be used if the model was trained with it,
    and its own-confidence weight not changed (the net takes the confidence as an input).
    """

    def __init__(self, model, cfg, fusion: str = "", threshold: float = -1.0, budget: int = -1,
                 own_weight: float = -1.0):
        self.model, self.cfg = model.eval(), cfg
        self.trained = (model.fusion, model.confidence_threshold, model.cell_budget,
                        model.own_weight)
        self.configure(fusion, threshold, budget, own_weight)

    def configure(self, fusion: str = "", threshold: float = -1.0, budget: int = -1,
                  own_weight: float = -1.0) -> None:
        """Set the inference settings (also while running); "" / < 0 = the model's own.
        ValueError, with nothing changed, for a fusion mode or weight this model cannot use."""
        module = self.trained[0]
        if fusion and fusion != self.cfg.fusion:
            module = build_fusion(self.cfg.replace(fusion=fusion))
            if any(True for _ in module.parameters()):
                raise ValueError(f"fusion {fusion!r} has weights; this model was trained with "
                                 f"{self.cfg.fusion!r}")
        weight = float(own_weight) if own_weight >= 0 else self.trained[3]
        if weight != self.trained[3] and any(True for _ in module.parameters()):
            raise ValueError("fusion_own_weight applies to the weight-free fusions (hard, soft); "
                             "a trained fusion takes the confidence as an input")
        self.model.fusion = module
        self.model.confidence_threshold = float(threshold) if threshold >= 0 else self.trained[1]
        self.model.cell_budget = int(budget) if budget >= 0 else self.trained[2]
        self.model.own_weight = weight

    @property
    def image_size(self) -> tuple[int, int]:
        return self.cfg.image_height, self.cfg.image_width

    @property
    def grid(self) -> tuple[int, int]:
        return self.cfg.grid_height, self.cfg.grid_width

    @torch.inference_mode()
    def encode(self, rgb: np.ndarray) -> AgentState:
        """rgb uint8 [H, W, 3] at the model's input size -> this agent's state."""
        if rgb.shape[:2] != self.image_size:
            raise WireFormatError(f"image is {rgb.shape[0]}x{rgb.shape[1]}, the model expects "
                                  f"{self.image_size[0]}x{self.image_size[1]}", "size")
        return self.model.encode(preprocess(rgb))

    @staticmethod
    def query_of(state: AgentState) -> np.ndarray:
        """The query map to broadcast: float32 [Q, Hs, Ws]."""
        return state.query[0].numpy()

    @torch.inference_mode()
    def answer(self, query: np.ndarray, state: AgentState) -> Response:
        """A peer's decoded query [Q, Hs, Ws] + own state -> the patches to send back."""
        expected = (self.cfg.query_dim, *self.grid)
        if query.shape != expected:
            raise WireFormatError(f"query shape {query.shape} does not fit this model {expected}",
                                  "shape")
        return self.model.respond(torch.from_numpy(np.ascontiguousarray(query)), state)

    def check_answer(self, answer: Response) -> None:
        """Raise WireFormatError unless ``answer`` fits this model's grid and classes."""
        _, classes, patch, _ = answer.patches.shape
        if tuple(answer.grid_size) != self.grid or classes != self.cfg.num_classes \
                or patch != self.cfg.patch_size:
            raise WireFormatError(f"answer for grid {answer.grid_size}, {classes} classes, patch "
                                  f"{patch} does not fit grid {self.grid}, "
                                  f"{self.cfg.num_classes} classes, patch {self.cfg.patch_size}",
                                  "shape")

    @torch.inference_mode()
    def fuse(self, state: AgentState, answers: list[Response]) -> np.ndarray:
        """Own state + peers' answers -> fused class probabilities float32 [C, H, W]."""
        return self.model.fuse(state, answers).numpy()

    @staticmethod
    def single_agent(state: AgentState) -> np.ndarray:
        """The agent's own distribution, float32 [C, H, W] (what it has without peers)."""
        return state.probs[0].numpy()
