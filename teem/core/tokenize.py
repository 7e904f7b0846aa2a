"""Deterministic names for arbitrary Python objects.

``tokenize(*args, **kwargs)`` returns a 32-character hex string that is the
same for equal arguments in any process and any interpreter run, and differs
for different arguments with overwhelming probability.

Theory of operation
-------------------
1. **Normalize.**  Every argument is turned into a *normalized form*: a nested
   structure made only of ``None``, ``bool``, ``int``, ``float``, ``complex``,
   ``str``, ``bytes`` and ``tuple``.  The function that does this is chosen by
   ``normalize_token``, a registry keyed by type: the first class in
   ``type(obj).__mro__`` that has a registered normalizer wins, and the choice
   is cached per type.  Before walking the MRO, the registry runs any *lazy*
   registrations whose module prefix matches one of the classes (so numpy and
   pandas support costs nothing until a numpy or pandas object shows up), and
   a class defining ``__teem_tokenize__`` (or Dask's ``__dask_tokenize__``)
   always uses that hook; an unregistered dataclass is normalized field by
   field.  Composite normalizers call ``normalize_token`` on
   their parts.  Forms carry type labels (``("list", ...)``, ``("ndarray",
   ...)``) so equal-looking values of different types stay apart.
2. **Make order-free things ordered.**  Dict items and set elements are
   sorted: by the keys themselves when all keys are ``str`` (fast), otherwise
   by the serialized bytes of each normalized item -- either way a total
   order that does not depend on insertion order or ``PYTHONHASHSEED``.
3. **Summarize big buffers.**  Numpy arrays, large ``bytes`` and pandas columns
   are replaced by an ``xxh3_128`` digest of their raw memory (plus dtype,
   shape and memory order), so big data costs one pass over memory and is
   never converted to Python objects.
4. **Serialize and hash.**  The normalized form is serialized with
   ``marshal`` format version 2 -- the last version that writes no
   back-references and no interning flags, so its bytes depend only on the
   values -- and hashed with ``xxh3_128``.
5. **Cycles.**  Containers that can refer to themselves (lists, dicts, object
   arrays, dataclasses, dynamic functions) are entered through a per-thread
   guard; a back-reference becomes ``("__cycle__", n)``, where ``n`` counts
   how many guarded containers up the stack the referenced one is.
6. **Functions.**  An importable function is named by module and qualified
   name.  Lambdas, closures, local functions and functions in ``__main__``
   are normalized from their code object (bytecode, constants, names),
   defaults, closure cell contents and the globals they refer to.  (Their
   ``cloudpickle`` bytes are *not* used: they vary between processes as soon
   as a default, a cell or a global holds a set of strings.)
7. **Everything else** is pickled with ``cloudpickle`` twice; equal bytes are
   hashed.  If the object cannot be pickled, or pickles differently each
   time, it gets a random ``uuid4`` token: still unique, but the same object
   then gets a *different* token on every call.  ``tokenize`` never raises
   for an unknown object.
"""

import collections
import enum
import functools
import marshal
import operator
import sys
import threading
import types
import uuid

import xxhash

from teem.core.dispatch import TypeRegistry

__all__ = ["tokenize", "normalize_token"]

_digest = xxhash.xxh3_128_digest

#: Types whose instances are their own normalized form (exact types only).
_PASSTHROUGH = frozenset({type(None), bool, int, float, complex, str})

#: ``bytes`` longer than this are replaced by their digest.
_INLINE_BYTES = 1024


def _type_label(cls):
    """Return ``"module.qualname"`` for *cls* (just the name for builtins)."""
    module = getattr(cls, "__module__", None)
    qualname = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "?")
    if module in (None, "builtins"):
        return qualname
    return f"{module}.{qualname}"


def _random_token():
    return uuid.uuid4().hex


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------


class _Registry(TypeRegistry):
    """Type -> normalizer table behind ``normalize_token``; see its docstring."""

    def resolve(self, cls):
        for hook in ("__teem_tokenize__", "__dask_tokenize__"):
            if callable(getattr(cls, hook, None)):
                return functools.partial(_normalize_with_hook, hook)
        for base in cls.__mro__[:-1]:  # the last base is ``object``
            if base in self.functions:
                return self.functions[base]
        if hasattr(cls, "__dataclass_fields__"):
            return _normalize_dataclass
        return self.functions[object]


_registry = _Registry()
_cache = _registry.cache


def normalize_token(obj):
    """Return the normalized form of *obj*: the structure that ``tokenize`` hashes.

    The normalizer is chosen by type (see the module docstring) and can be
    extended through the attributes of this function:

    - ``normalize_token.register(types)`` -- decorator registering a
      normalizer for a type or tuple of types;
    - ``normalize_token.register_lazy("module")`` -- decorator deferring a
      registration until an object from that module is first seen;
    - ``normalize_token.dispatch(cls)`` -- the normalizer used for *cls*.

    Parameters
    ----------
    obj : object
        Anything.

    Returns
    -------
    object
        A nested structure of ``None``, ``bool``, ``int``, ``float``,
        ``complex``, ``str``, ``bytes`` and tuples that identifies *obj*.
    """
    cls = type(obj)
    if cls in _PASSTHROUGH:
        return obj
    normalizer = _cache.get(cls)
    if normalizer is None:
        normalizer = _registry.dispatch(cls)
    return normalizer(obj)


# A plain function with attributes: calling an instance's ``__call__`` costs
# three times as much, and normalizers call this once per element.
normalize_token.register = _registry.register
normalize_token.register_lazy = _registry.register_lazy
normalize_token.dispatch = _registry.dispatch
_normalize = normalize_token


def tokenize(*args, **kwargs):
    """Return a deterministic 32-character hex token for the arguments.

    Equal arguments give equal tokens in every process; different arguments
    give different tokens with overwhelming probability.  Keyword order does
    not matter.  Objects that cannot be pickled (and have no normalizer),
    and structures nested too deeply to walk, get a random token, so two
    calls on such an argument return different tokens.

    Parameters
    ----------
    *args, **kwargs
        Anything.

    Returns
    -------
    str
        32 lowercase hex characters (an ``xxh3_128`` digest).

    Example
    -------
    >>> tokenize("x", 1) == tokenize("x", 1)
    True
    >>> tokenize(1) == tokenize(1.0)
    False
    """
    try:
        normalized = tuple(map(_normalize, args))
        if kwargs:
            normalized = (normalized, _normalize_dict(kwargs))
        return xxhash.xxh3_128_hexdigest(_serialize(normalized))
    except RecursionError:  # nesting too deep to walk; uniqueness still holds
        return _random_token()


def _serialize(normalized):
    """Return deterministic bytes for a normalized form."""
    try:
        return marshal.dumps(normalized, 2)
    except ValueError:  # a custom normalizer returned a non-primitive object
        return marshal.dumps(_normalize(normalized), 2)


# ---------------------------------------------------------------------------
# Cycle guard
# ---------------------------------------------------------------------------

_thread_state = threading.local()


def _guarded(obj, normalize_contents):
    """Normalize *obj* with *normalize_contents*, or mark it as a back-reference."""
    try:
        active = _thread_state.active
    except AttributeError:
        active = _thread_state.active = {}
    key = id(obj)  # only identifies objects on the stack; never hashed
    depth = active.get(key)
    if depth is not None:
        return ("__cycle__", len(active) - depth)
    active[key] = len(active)
    try:
        return normalize_contents(obj)
    finally:
        del active[key]


# ---------------------------------------------------------------------------
# Builtin types
# ---------------------------------------------------------------------------


_JUST_STR = frozenset({str})
_first = operator.itemgetter(0)


def _normalize_dict(d):
    """Return the items of *d*, normalized, in an order independent of insertion."""
    if set(map(type, d)) <= _JUST_STR:  # distinct str keys: sorting by key is total
        return tuple([(k, _normalize(v)) for k, v in sorted(d.items(), key=_first)])
    items = [(_normalize(k), _normalize(v)) for k, v in d.items()]
    return tuple(sorted(items, key=_serialize))


@normalize_token.register(dict)
def _normalize_dict_like(d):
    label = "dict" if type(d) is dict else _type_label(type(d))
    return _guarded(d, lambda d: (label, _normalize_dict(d)))


@normalize_token.register(collections.OrderedDict)
def _normalize_ordered_dict(d):
    def contents(d):  # order is part of an OrderedDict's value
        return ("OrderedDict", tuple([(_normalize(k), _normalize(v)) for k, v in d.items()]))

    return _guarded(d, contents)


@normalize_token.register(collections.defaultdict)
def _normalize_defaultdict(d):
    def contents(d):
        return ("defaultdict", _normalize(d.default_factory), _normalize_dict(d))

    return _guarded(d, contents)


@normalize_token.register((set, frozenset))
def _normalize_set(s):
    if set(map(type, s)) <= _JUST_STR:
        return (_type_label(type(s)), tuple(sorted(s)))
    return (_type_label(type(s)), tuple(sorted(map(_normalize, s), key=_serialize)))


@normalize_token.register(tuple)
def _normalize_tuple(t):
    label = "tuple" if type(t) is tuple else _type_label(type(t))
    return (label, tuple(map(_normalize, t)))


@normalize_token.register(list)
def _normalize_list(seq):
    label = "list" if type(seq) is list else _type_label(type(seq))
    return _guarded(seq, lambda seq: (label, tuple(map(_normalize, seq))))


def _bytes_form(data):
    """Inline short byte strings; digest long ones."""
    return bytes(data) if len(data) <= _INLINE_BYTES else ("xxh3", _digest(data))


@normalize_token.register(bytes)
def _normalize_bytes(b):
    return _bytes_form(b) if type(b) is bytes else _normalize_builtin_subclass(b)


@normalize_token.register(bytearray)
def _normalize_bytearray(b):
    return (_type_label(type(b)), _bytes_form(b))


@normalize_token.register(memoryview)
def _normalize_memoryview(view):
    data = view if view.c_contiguous else view.tobytes()
    return ("memoryview", view.format, view.shape, _digest(data))


_BUILTIN_VALUE = {
    int: int.__int__,
    float: float.__float__,
    complex: complex.__complex__,
    str: str.__str__,
    bytes: bytes.__bytes__,
}


@normalize_token.register((int, float, complex, str))
def _normalize_builtin_subclass(obj):
    """Normalize an instance of a subclass of int, float, complex, str or bytes."""
    if isinstance(obj, enum.Enum):
        return _normalize_enum(obj)
    cls = type(obj)
    base = next(b for b in cls.__mro__ if b in _BUILTIN_VALUE)
    return (_type_label(cls), _BUILTIN_VALUE[base](obj))


@normalize_token.register(enum.Enum)
def _normalize_enum(member):
    return ("enum", _normalize(type(member)), member.name, _normalize(member.value))


@normalize_token.register(range)
def _normalize_range(r):
    return ("range", r.start, r.stop, r.step)


@normalize_token.register(slice)
def _normalize_slice(s):
    return ("slice", _normalize(s.start), _normalize(s.stop), _normalize(s.step))


@normalize_token.register((type(Ellipsis), type(NotImplemented)))
def _normalize_singleton(obj):
    return (repr(obj),)


@normalize_token.register(type)
def _normalize_type(cls):
    return ("type", getattr(cls, "__module__", None), cls.__qualname__)


@normalize_token.register(types.ModuleType)
def _normalize_module(module):
    return ("module", module.__name__)


# ---------------------------------------------------------------------------
# Functions and other callables
# ---------------------------------------------------------------------------


def _resolves_to(obj, module, qualname):
    """Whether importing *module* and following *qualname* yields *obj*."""
    if not module or module == "__main__" or not qualname or "<" in qualname:
        return False
    target = sys.modules.get(module)
    if "." not in qualname:
        return getattr(target, qualname, None) is obj
    for name in qualname.split("."):
        target = getattr(target, name, None)
    return target is obj


@normalize_token.register(types.FunctionType)
def _normalize_function(func):
    module, qualname = func.__module__, func.__qualname__
    if _resolves_to(func, module, qualname):
        return ("function", module, qualname)
    return _guarded(func, _normalize_dynamic_function)


def _normalize_dynamic_function(func):
    """Normalize a function that cannot be imported by name."""
    code, names = _code_form(func.__code__)
    cells = func.__closure__ and tuple(map(_normalize_cell, func.__closure__))
    namespace = func.__globals__
    used_globals = {name: namespace[name] for name in names if name in namespace}
    return (
        "dynamic-function",
        code,
        _normalize(func.__defaults__),
        _normalize(func.__kwdefaults__),
        cells,
        _normalize_dict(used_globals),
    )


def _normalize_cell(cell):
    try:
        return ("cell", _normalize(cell.cell_contents))
    except ValueError:  # the variable is not bound yet
        return ("empty-cell",)


@functools.lru_cache(maxsize=1024)  # code objects are immutable; equal ones normalize alike
def _code_form(code):
    """Return the normalized form of *code* and the global names it may use."""
    names = set(code.co_names)  # globals, and attribute names: harmless extras
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(_code_form(const)[1])
    return _normalize_code(code), tuple(sorted(names))


@normalize_token.register(types.CodeType)
def _normalize_code(code):
    return (
        "code",
        code.co_code,
        tuple(map(_normalize, code.co_consts)),
        code.co_names,
        code.co_varnames,
        code.co_freevars,
        code.co_cellvars,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags,
    )


@normalize_token.register(functools.partial)
def _normalize_partial(p):
    return (
        _type_label(type(p)),
        _normalize(p.func),
        _normalize(p.args),
        _normalize_dict(p.keywords),
    )


@normalize_token.register(types.MethodType)
def _normalize_method(method):
    return ("method", _normalize(method.__func__), _normalize(method.__self__))


@normalize_token.register(types.BuiltinFunctionType)
def _normalize_builtin_function(func):
    owner = func.__self__
    if owner is None or isinstance(owner, types.ModuleType):
        return ("builtin", func.__module__, func.__qualname__)
    return ("builtin-method", _normalize(owner), func.__name__)


@normalize_token.register(
    (types.MethodDescriptorType, types.WrapperDescriptorType, types.ClassMethodDescriptorType)
)
def _normalize_descriptor(descriptor):
    return ("descriptor", _normalize(descriptor.__objclass__), descriptor.__name__)


@normalize_token.register(types.MethodWrapperType)
def _normalize_method_wrapper(method):
    return ("method-wrapper", _normalize(method.__self__), method.__name__)


@normalize_token.register((operator.itemgetter, operator.attrgetter, operator.methodcaller))
def _normalize_by_reduce(obj):
    return (_type_label(type(obj)), _normalize(obj.__reduce__()))


# ---------------------------------------------------------------------------
# Hooks, dataclasses and unknown objects
# ---------------------------------------------------------------------------


def _normalize_with_hook(hook, obj):
    def contents(obj):
        return (hook, _type_label(type(obj)), _normalize(getattr(obj, hook)()))

    return _guarded(obj, contents)


def _normalize_dataclass(obj):
    import dataclasses  # already imported: obj is a dataclass

    def contents(obj):
        fields = tuple(
            (f.name, _normalize(getattr(obj, f.name, _MISSING)))
            for f in dataclasses.fields(obj)
        )
        return ("dataclass", _normalize(type(obj)), fields)

    return _guarded(obj, contents)


class _Missing:
    """Stands for a dataclass field that has no value."""

    def __teem_tokenize__(self):
        return "missing"


_MISSING = _Missing()


@normalize_token.register(object)
def _normalize_object(obj):
    """Normalize an object of an unregistered type by its cloudpickle bytes.

    Falls back to a random token when the object cannot be pickled or does
    not pickle to the same bytes twice.
    """
    import cloudpickle

    try:
        data = cloudpickle.dumps(obj, protocol=5)
        if cloudpickle.dumps(obj, protocol=5) == data:
            return ("pickle", _type_label(type(obj)), _digest(data))
    except Exception:  # noqa: BLE001 -- any failure means "not picklable"
        pass
    return ("unique", _random_token())


# ---------------------------------------------------------------------------
# Standard library value types (registered when first seen)
# ---------------------------------------------------------------------------


@normalize_token.register_lazy("datetime")
def _register_datetime():
    import datetime

    @normalize_token.register(datetime.date)
    def _(d):
        return (_type_label(type(d)), d.isoformat())

    @normalize_token.register((datetime.datetime, datetime.time))
    def _(t):
        return (_type_label(type(t)), t.isoformat(), t.fold, _normalize(t.tzinfo))

    @normalize_token.register(datetime.timedelta)
    def _(td):
        return (_type_label(type(td)), td.days, td.seconds, td.microseconds)

    @normalize_token.register(datetime.timezone)
    def _(tz):
        return ("timezone", _normalize(tz.utcoffset(None)), tz.tzname(None))


@normalize_token.register_lazy("decimal")
def _register_decimal():
    import decimal

    @normalize_token.register(decimal.Decimal)
    def _(d):
        return (_type_label(type(d)), str(d))


@normalize_token.register_lazy("fractions")
def _register_fractions():
    import fractions

    @normalize_token.register(fractions.Fraction)
    def _(f):
        return (_type_label(type(f)), f.numerator, f.denominator)


@normalize_token.register_lazy("pathlib")
def _register_pathlib():
    import pathlib

    @normalize_token.register(pathlib.PurePath)
    def _(path):
        return (_type_label(type(path)), str(path))


@normalize_token.register_lazy("uuid")
def _register_uuid():
    @normalize_token.register(uuid.UUID)
    def _(u):
        return (_type_label(type(u)), u.int)


# ---------------------------------------------------------------------------
# numpy
# ---------------------------------------------------------------------------


def _strings_form(values):
    """Digest a list of str, or return None if some element is not a str."""
    try:
        joined = "\0".join(values)
    except TypeError:
        return None
    if joined.count("\0") == max(len(values) - 1, 0):  # no element contains the separator
        lengths = len(values)
    else:
        lengths = _digest(marshal.dumps(list(map(len, values)), 2))
    return ("strings", lengths, _digest(joined.encode("utf-8", "surrogatepass")))


def _normalize_object_elements(values):
    """Normalize a list of Python objects, fast when all are str."""
    form = _strings_form(values)
    if form is None:
        form = ("objects", tuple(map(_normalize, values)))
    return form


@normalize_token.register_lazy("numpy")
def _register_numpy():
    import numpy as np

    def dtype_key(dtype):
        if dtype.fields is not None or dtype.subdtype is not None:
            return _normalize(dtype.descr)
        if dtype.kind == "T":  # variable-width strings: the repr names the NA object
            return repr(dtype)
        return dtype.str

    @normalize_token.register(np.dtype)
    def _(dtype):
        return ("np.dtype", dtype_key(dtype))

    def raw_digest(arr):
        if arr.flags.c_contiguous:
            order, flat = "C", arr.reshape(-1)
        elif arr.flags.f_contiguous:
            order, flat = "F", arr.T.reshape(-1)
        else:  # strided view: copy (C order) so equal values hash equal
            order, flat = "C", np.ascontiguousarray(arr).reshape(-1)
        try:
            data = flat.view(np.uint8)
        except (TypeError, ValueError):  # e.g. zero-itemsize dtypes
            data = flat.tobytes()
        return order, _digest(data)

    def object_array_contents(arr):
        return ("ndarray", dtype_key(arr.dtype), arr.shape,
                _normalize_object_elements(arr.reshape(-1).tolist()))

    @normalize_token.register(np.ndarray)  # also np.memmap and other subclasses
    def _(arr):
        if arr.dtype.hasobject or arr.dtype.kind == "T":
            return _guarded(arr, object_array_contents)
        order, digest = raw_digest(arr)
        return ("ndarray", dtype_key(arr.dtype), arr.shape, order, digest)

    @normalize_token.register(np.generic)
    def _(scalar):
        return ("np.scalar", dtype_key(scalar.dtype), scalar.tobytes())

    @normalize_token.register((np.str_, np.bytes_))
    def _(scalar):
        return (_type_label(type(scalar)), scalar.item())


@normalize_token.register_lazy("numpy.ma")
def _register_numpy_ma():
    import numpy as np

    @normalize_token.register(np.ma.MaskedArray)
    def _(arr):
        return (
            "np.ma.MaskedArray",
            _normalize(np.ma.getdata(arr)),
            _normalize(np.ma.getmaskarray(arr)),
            _normalize(arr.fill_value),
        )


@normalize_token.register_lazy("numpy.random")
def _register_numpy_random():
    import numpy as np

    @normalize_token.register(np.random.SeedSequence)
    def _(seq):
        return (
            "np.random.SeedSequence",
            _normalize(seq.entropy),
            _normalize(seq.spawn_key),
            seq.pool_size,
            seq.n_children_spawned,
        )

    @normalize_token.register(np.random.BitGenerator)
    def _(bit_generator):
        return (
            _type_label(type(bit_generator)),
            _normalize(bit_generator.state),
            _normalize(getattr(bit_generator, "seed_seq", None)),
        )

    @normalize_token.register(np.random.Generator)
    def _(generator):
        return ("np.random.Generator", _normalize(generator.bit_generator))

    @normalize_token.register(np.random.RandomState)
    def _(random_state):
        return ("np.random.RandomState", _normalize(random_state.get_state(legacy=False)))


# ---------------------------------------------------------------------------
# pandas
# ---------------------------------------------------------------------------


@normalize_token.register_lazy("pandas")
def _register_pandas():
    import numpy as np
    import pandas as pd

    def values_token(values):
        """Normalize the values of a column or index: an ndarray or ExtensionArray."""
        if isinstance(values, np.ndarray) or isinstance(values, pd.Categorical):
            return _normalize(values)
        dtype = _normalize(values.dtype)
        backing = getattr(values, "_ndarray", None)  # numpy, datetime, python-str arrays
        if isinstance(backing, np.ndarray):
            if isinstance(values.dtype, pd.StringDtype):  # str, or NA: keep the fast path
                form = _strings_form(backing.tolist())
                if form is None:
                    missing = pd.isna(backing)
                    form = (_strings_form(np.where(missing, "", backing).tolist()),
                            _normalize(missing))
                return ("pd.strings", dtype, form)
            return ("pd.array", dtype, _normalize(backing))
        data, mask = getattr(values, "_data", None), getattr(values, "_mask", None)
        if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray):  # Int64 etc.
            if mask.any():  # the values under the mask are arbitrary
                data = np.where(mask, np.zeros((), data.dtype), data)
            return ("pd.masked", dtype, _normalize(data), _normalize(mask))
        try:  # arrow-backed and third-party arrays
            hashes = pd.util.hash_array(values)
            missing = np.asarray(values.isna())
            return ("pd.hashed", dtype, _normalize(hashes), _normalize(missing))
        except Exception:  # noqa: BLE001 -- fall back to the Python objects
            return ("pd.objects", dtype, _normalize_object_elements(list(values)))

    @normalize_token.register(pd.DataFrame)
    def _(df):
        columns = tuple(values_token(column.array) for _, column in df.items())
        return ("pd.DataFrame", _normalize(df.columns), _normalize(df.index), columns)

    @normalize_token.register(pd.Series)
    def _(series):
        return (
            "pd.Series",
            _normalize(series.name),
            values_token(series.array),
            _normalize(series.index),
        )

    @normalize_token.register(pd.Index)
    def _(index):
        return (_type_label(type(index)), _normalize(index.name), values_token(index.array))

    @normalize_token.register(pd.RangeIndex)
    def _(index):
        return ("pd.RangeIndex", _normalize(index.name), index.start, index.stop, index.step)

    @normalize_token.register(pd.MultiIndex)
    def _(index):
        return (
            "pd.MultiIndex",
            _normalize(tuple(index.names)),
            tuple(map(_normalize, index.levels)),
            tuple(map(_normalize, index.codes)),
        )

    @normalize_token.register(pd.Categorical)
    def _(cat):
        return ("pd.Categorical", _normalize(cat.dtype), _normalize(cat.codes))

    @normalize_token.register(pd.CategoricalDtype)
    def _(dtype):
        return ("pd.CategoricalDtype", _normalize(dtype.categories), dtype.ordered)

    @normalize_token.register(pd.api.extensions.ExtensionDtype)
    def _(dtype):
        return (_type_label(type(dtype)), str(dtype))

    @normalize_token.register(pd.Timestamp)
    def _(ts):
        tz = None if ts.tz is None else str(ts.tz)
        return ("pd.Timestamp", _normalize(ts.asm8), tz)  # asm8 carries the unit

    @normalize_token.register(pd.Timedelta)
    def _(td):
        return ("pd.Timedelta", _normalize(td.asm8))

    @normalize_token.register(pd.Period)
    def _(period):
        return ("pd.Period", period.ordinal, period.freqstr)

    @normalize_token.register(type(pd.NaT))
    def _(nat):
        return ("pd.NaT",)
