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


# Defect 3: transact_write_items backs the table up by deep-copying the
# whole table, once per item of the transaction, so a transaction's cost
# grows with the table (a 200-referral soak spent a core and gigabytes on
# it). The backup below keeps only the items the transaction touches, and
# puts them back when the transaction fails; moto's own whole-table backup
# is skipped (its restore then re-assigns the same table). DynamoDB calls
# are serialised by the lock above, so swapping the module's copy is safe.
from moto.dynamodb import models as _ddb_models

_ddb_transact = _ddb_models.DynamoDBBackend.transact_write_items
_copy_module = _ddb_models.copy


class _NoTableCopy:
    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, _ddb_models.Table):
            return value
        return _copy_module.deepcopy(value, memo)


def _touched_items(backend, transact_items):
    touched = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Key")
        if "Item" in op:
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs.get(table.range_key_attr)
        if not key or None in key.values():
            continue
        before = backend.get_item(table.name, key)
        touched.append((table.name, key, before.to_json()["Attributes"] if before else None))
    return touched


def _transact_write_items(self, transact_items):
    touched = _touched_items(self, transact_items)
    _ddb_models.copy = _NoTableCopy
    try:
        return _ddb_transact(self, transact_items)
    except Exception:
        for table_name, key, attrs in reversed(touched):
            if attrs is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attrs)
        raise
    finally:
        _ddb_models.copy = _copy_module


_ddb_models.DynamoDBBackend.transact_write_items = _transact_write_items


# Defect 4: every write a transaction applies adds a record to the table's
# stream, and so does the rollback above when it puts items back: a
# cancelled transaction left INSERT/MODIFY/REMOVE records in the stream, so
# the stack's stream poller published domain events of changes that never
# happened. DynamoDB shows a transaction in the stream only when it
# succeeds. The stream is cut back to where it was when the transaction
# fails, and stream reads take the DynamoDB lock so they never see a
# transaction half applied. Iterators are kept for the last 1000 reads only
# (moto kept every one it ever issued; on AWS they expire after 15 minutes).
from moto.dynamodbstreams import models as _streams_models
from moto.dynamodbstreams import responses as _streams_responses


def _stream_lengths(backend, transact_items):
    lengths = {}
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is not None and table.stream_shard is not None:
            lengths[table.name] = len(table.stream_shard.items)
    return lengths


def _transact_write_items_streams(self, transact_items):
    lengths = _stream_lengths(self, transact_items)
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for name, n in lengths.items():
            shard = self.tables[name].stream_shard
            if shard is not None:
                del shard.items[n:]
        raise


_ddb_models.DynamoDBBackend.transact_write_items = _transact_write_items_streams

_streams_call_action = _streams_responses.DynamoDBStreamsHandler.call_action


def _serialised_streams_call_action(self):
    with _ddb_lock:
        return _streams_call_action(self)


_streams_responses.DynamoDBStreamsHandler.call_action = _serialised_streams_call_action

_streams_get_records = _streams_models.DynamoDBStreamsBackend.get_records


def _get_records_bounded(self, iterator_arn, limit):
    result = _streams_get_records(self, iterator_arn, limit)
    while len(self.shard_iterators) > 1000:
        self.shard_iterators.pop(next(iter(self.shard_iterators)))
    return result


_streams_models.DynamoDBStreamsBackend.get_records = _get_records_bounded

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
