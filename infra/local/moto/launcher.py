"""Start moto_server with the local stack's patch for moto 5.2.1.

Defect: StepFunctionBackend.start_execution deep-copies the state machine
together with its list of running executions, so every StartExecution after
the first answers HTTP 500 ("cannot pickle '_thread.RLock' object"). The copy
below copies every attribute but leaves `executions` empty on the copy (and
shares the `backend` reference instead of cloning the whole backend).
"""
import copy
import sys

from moto.stepfunctions import models as _sfn_models


def _state_machine_deepcopy(self, memo):
    cls = self.__class__
    clone = cls.__new__(cls)
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        if key == "executions":
            setattr(clone, key, [])
        elif key == "backend":
            setattr(clone, key, value)
        else:
            setattr(clone, key, copy.deepcopy(value, memo))
    return clone


_sfn_models.StateMachine.__deepcopy__ = _state_machine_deepcopy

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
