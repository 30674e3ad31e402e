"""Start moto_server with the local stack's patches for moto 5.2.1.

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


# Defect 2: moto_server answers requests on several threads, but its DynamoDB
# backend is not thread-safe. A condition check and the write it guards can
# interleave with another request, and a cancelled TransactWriteItems rolls
# back by restoring a copy of the whole table taken when it began, erasing
# writes other threads made meanwhile. Real DynamoDB serialises conditional
# writes and transactions per item; one lock around every DynamoDB request
# gives the local stack (and concurrency tests) that isolation.
import threading

from moto.dynamodb import responses as _ddb_responses

_ddb_lock = threading.RLock()
_ddb_call_action = _ddb_responses.DynamoHandler.call_action


def _serialised_call_action(self):
    with _ddb_lock:
        return _ddb_call_action(self)


_ddb_responses.DynamoHandler.call_action = _serialised_call_action

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
