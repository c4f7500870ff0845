"""`Record`: the core's immutable records, typed like `typing.NamedTuple`, cheap to define.

Defining a `typing.NamedTuple` costs ~0.2 ms per class at import (it type-checks every
annotation, compiling each string one under `from __future__ import annotations`), and
importing `typing` itself 2-3 ms: with ~25 records, a third of `pun --LLB`'s start-up. mypy
sees `typing.NamedTuple` (the TYPE_CHECKING branch). At run time `Record` makes the same kind
of class (a tuple subclass, `__slots__ = ()`, one read-only property per annotated field in
order, class-level values as defaults) from the annotations' names alone, never evaluating them.

Hot-path modules set `TYPE_CHECKING = False` themselves and import `typing` only under it (mypy
treats any `if TYPE_CHECKING:` as true), so `typing` is not imported by `pun --LLB` at all.
"""

from __future__ import annotations

from operator import itemgetter

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:

    class _RecordType(type):
        def __new__(mcs, name, bases, namespace):
            if bases == (tuple,):  # Record itself
                return super().__new__(mcs, name, bases, namespace)
            fields = tuple(namespace.get("__annotations__", {}))
            defaults = {f: namespace.pop(f) for f in fields if f in namespace}
            namespace["__slots__"] = ()
            namespace["_fields"] = fields
            namespace["_field_defaults"] = defaults
            for index, field in enumerate(fields):
                namespace[field] = property(itemgetter(index), doc=f"field {index}")
            namespace["__new__"] = _constructor(name, fields, defaults)
            return super().__new__(mcs, name, (Record,), namespace)

    def _constructor(name, fields, defaults):
        count = len(fields)

        def __new__(cls, *args, **kwargs):
            if kwargs or len(args) != count:
                if len(args) > count:
                    raise TypeError(f"{name}() takes {count} arguments, {len(args)} given")
                values = list(args)
                for field in fields[len(args) :]:
                    if field in kwargs:
                        values.append(kwargs.pop(field))
                    elif field in defaults:
                        values.append(defaults[field])
                    else:
                        raise TypeError(f"{name}() missing argument {field!r}")
                if kwargs:
                    raise TypeError(f"{name}() got unexpected arguments {sorted(kwargs)}")
                args = values
            return tuple.__new__(cls, args)

        __new__.__qualname__ = f"{name}.__new__"
        return __new__

    class Record(tuple, metaclass=_RecordType):
        __slots__ = ()

        def __repr__(self):
            inner = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
            return f"{type(self).__name__}({inner})"

        def __getnewargs__(self):
            return tuple(self)

        def _asdict(self):
            return dict(zip(self._fields, self))

        def _replace(self, **changes):
            values = [changes.pop(f, v) for f, v in zip(self._fields, self)]
            if changes:
                raise TypeError(f"{type(self).__name__} has no fields {sorted(changes)}")
            return type(self)(*values)
