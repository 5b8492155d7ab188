/* The compiled probes: what GET /visible runs per lookup, in four types.
 *
 * Optional speedup (like MarkupSafe's): when no C compiler is at hand the package installs
 * without it, and Python twins give the same answers (``_ordinals.py``, ``_visibility.py``,
 * ``app/hotpath.py``). In Python a lookup is a few dozen bytecodes and object operations
 * (~16,000 machine instructions under callgrind for a whole in-process GET); here the query
 * is parsed, looked up and its body written in one call. tests/unit/test_index.py and
 * tests/unit/test_hotpath_probe.py hold each type to its twin's answers.
 *
 * - BaseProbe: decimal digits -> ordinal in an ordinal map's base. Layout (see _ordinals.py):
 *   keys are the sorted hashes h(x) = x * GOLDEN mod 2**64 of the base ids; bucket
 *   b = h >> shift holds keys[offsets[b]:offsets[b + 1]]; an id's ordinal is its key's position.
 * - DeltaMap: the ordinal map's delta (id -> ordinal for ids the base lacks), flat arrays.
 * - IndexProbe: decimal digits and a country -> withheld? (base, then the delta map, then the
 *   country's and XX's bitmaps, whose ``in`` it calls through the sequence protocol: pyroaring
 *   has no C API). A visibility index builds one whenever it swaps its structures.
 * - QueryAnswerer: GET /visible's common query ("account=<id>&country=<cc>", nothing else) ->
 *   the response body, through an IndexProbe. The body is the route's JSON, byte for byte
 *   (tests/integration/test_hotpath.py compares them); anything else is left to Python (None).
 * - scan_post_items / render_post_items: POST /visible's post batch read and its answer written
 *   without building a dict per item (at the end of this file). Their twin is the JSON path
 *   (orjson, then app/edge/bodies.py), which tests/unit/test_post_batch_scan.py holds them to.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define GOLDEN UINT64_C(0x9E3779B97F4A7C15)
#define MAX_ACCOUNT UINT64_C(0x7FFFFFFFFFFFFFFF)
#define MAX_DIGITS 19 /* 10**19 - 1 < 2**64: the parse cannot overflow */

/* ordinal_of_decimal's answers besides an ordinal. */
#define NOT_IN_BASE -1
#define NOT_AN_ACCOUNT -2

typedef struct {
    PyObject_HEAD
    Py_buffer keys;    /* uint64, C-contiguous, 1-D */
    Py_buffer offsets; /* uint32, C-contiguous, 1-D, 2**(64 - shift) + 1 items */
    unsigned int shift;
} BaseProbe;

static int
get_vector(PyObject *source, Py_buffer *view, Py_ssize_t itemsize, const char *name)
{
    if (PyObject_GetBuffer(source, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        return -1;
    }
    if (view->ndim != 1 || view->itemsize != itemsize) {
        PyErr_Format(PyExc_ValueError, "%s must be a 1-D array of %zd-byte items", name,
                     itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int
BaseProbe_init(BaseProbe *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"keys", "offsets", "shift", NULL};
    PyObject *keys, *offsets;
    unsigned int shift;
    if (self->keys.obj != NULL) {
        PyErr_SetString(PyExc_TypeError, "BaseProbe is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOI", names, &keys, &offsets, &shift)) {
        return -1;
    }
    if (shift < 1 || shift > 63) {
        PyErr_SetString(PyExc_ValueError, "shift must be in 1..63");
        return -1;
    }
    if (get_vector(keys, &self->keys, 8, "keys") < 0) {
        return -1;
    }
    if (get_vector(offsets, &self->offsets, 4, "offsets") < 0) {
        PyBuffer_Release(&self->keys);
        return -1;
    }
    Py_ssize_t buckets = self->offsets.len / 4 - 1;
    const uint32_t *starts = (const uint32_t *)self->offsets.buf;
    Py_ssize_t count = self->keys.len / 8;
    /* Every bucket index of a hash must exist, and every offset stay inside the keys. */
    int valid = buckets == ((Py_ssize_t)1 << (64 - shift)) && starts[buckets] == count;
    for (Py_ssize_t b = 0; valid && b < buckets; b++) {
        valid = starts[b] <= starts[b + 1];
    }
    if (!valid) {
        PyErr_SetString(PyExc_ValueError, "offsets do not match keys and shift");
        PyBuffer_Release(&self->keys);
        PyBuffer_Release(&self->offsets);
        return -1;
    }
    self->shift = shift;
    return 0;
}

static void
BaseProbe_dealloc(BaseProbe *self)
{
    if (self->keys.obj != NULL) {
        PyBuffer_Release(&self->keys);
    }
    if (self->offsets.obj != NULL) {
        PyBuffer_Release(&self->offsets);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Parses canonical decimal (1..19 ASCII digits, no leading zero) up to MAX_ACCOUNT. */
static int
parse_account(const unsigned char *text, Py_ssize_t size, uint64_t *account)
{
    if (size < 1 || size > MAX_DIGITS || text[0] == '0') {
        return 0;
    }
    uint64_t value = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned int digit = (unsigned int)text[i] - '0';
        if (digit > 9) {
            return 0;
        }
        value = value * 10 + digit;
    }
    *account = value;
    return value <= MAX_ACCOUNT;
}

/* The account's ordinal in the base, or NOT_IN_BASE. */
static int64_t
base_ordinal(const BaseProbe *self, uint64_t account)
{
    const uint64_t hashed = account * GOLDEN; /* wraps modulo 2**64, as intended */
    const uint64_t *keys = (const uint64_t *)self->keys.buf;
    const uint32_t *starts = (const uint32_t *)self->offsets.buf;
    const uint64_t bucket = hashed >> self->shift;
    uint32_t low = starts[bucket], high = starts[bucket + 1];
    while (low < high) { /* lower bound of hashed in keys[low:high] */
        uint32_t middle = low + (high - low) / 2;
        if (keys[middle] < hashed) {
            low = middle + 1;
        }
        else {
            high = middle;
        }
    }
    if (low < starts[bucket + 1] && keys[low] == hashed) {
        return low;
    }
    return NOT_IN_BASE;
}

static int
check_initialised(const BaseProbe *self)
{
    if (self->keys.obj == NULL) {
        PyErr_SetString(PyExc_ValueError, "BaseProbe is not initialised");
        return -1;
    }
    return 0;
}

static PyObject *
BaseProbe_ordinal_of_decimal(BaseProbe *self, PyObject *digits)
{
    if (!PyBytes_Check(digits)) {
        PyErr_SetString(PyExc_TypeError, "digits must be bytes");
        return NULL;
    }
    if (check_initialised(self) < 0) {
        return NULL;
    }
    uint64_t account;
    if (!parse_account((const unsigned char *)PyBytes_AS_STRING(digits),
                       PyBytes_GET_SIZE(digits), &account)) {
        return PyLong_FromLong(NOT_AN_ACCOUNT);
    }
    return PyLong_FromLongLong(base_ordinal(self, account));
}

static PyMethodDef BaseProbe_methods[] = {
    {"ordinal_of_decimal", (PyCFunction)BaseProbe_ordinal_of_decimal, METH_O,
     "The base ordinal of the account written in digits (bytes); -1 if the base lacks it, "
     "-2 if the digits are not an account id in canonical decimal (1..2**63-1)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BaseProbeType = {
    .ob_base = PyVarObject_HEAD_INIT(NULL, 0).tp_name = "app.index._probe.BaseProbe",
    .tp_doc = "BaseProbe(keys, offsets, shift): probes an ordinal map's base, which it keeps "
              "alive (it holds buffers of both arrays).",
    .tp_basicsize = sizeof(BaseProbe),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)BaseProbe_init,
    .tp_dealloc = (destructor)BaseProbe_dealloc,
    .tp_methods = BaseProbe_methods,
};

/* -- DeltaMap ---------------------------------------------------------------------------- */

/* The ordinal map's delta: id -> ordinal for the ids the base lacks, in two flat arrays with
 * linear probing (an id is never 0: MIN_ID is 1, so 0 marks an empty slot). A dict of ints
 * held an id object, an ordinal object and an entry per id (~110 bytes); this holds 12 bytes
 * a slot at a load of at most 3/4. Ids are only added: the whole map goes at a compaction. */
typedef struct {
    PyObject_HEAD
    uint64_t *ids;     /* capacity slots, 0 = empty */
    uint32_t *ordinals;
    Py_ssize_t capacity; /* a power of two, or 0 before the first add */
    Py_ssize_t size;
    unsigned int shift;  /* 64 - log2(capacity) */
} DeltaMap;

#define DELTA_MIN_CAPACITY 16

static Py_ssize_t
delta_slot(const DeltaMap *self, uint64_t id)
{
    Py_ssize_t mask = self->capacity - 1;
    Py_ssize_t slot = (Py_ssize_t)((id * GOLDEN) >> self->shift);
    while (self->ids[slot] != 0 && self->ids[slot] != id) {
        slot = (slot + 1) & mask;
    }
    return slot;
}

/* The id's ordinal, or -1. */
static int64_t
delta_ordinal(const DeltaMap *self, uint64_t id)
{
    if (self->size == 0 || id == 0) {
        return -1;
    }
    Py_ssize_t slot = delta_slot(self, id);
    return self->ids[slot] == id ? (int64_t)self->ordinals[slot] : -1;
}

static int
delta_grow(DeltaMap *self, Py_ssize_t capacity)
{
    uint64_t *ids = PyMem_Calloc((size_t)capacity, sizeof(uint64_t));
    uint32_t *ordinals = PyMem_Malloc((size_t)capacity * sizeof(uint32_t));
    if (ids == NULL || ordinals == NULL) {
        PyMem_Free(ids);
        PyMem_Free(ordinals);
        PyErr_NoMemory();
        return -1;
    }
    uint64_t *old_ids = self->ids;
    uint32_t *old_ordinals = self->ordinals;
    Py_ssize_t old_capacity = self->capacity;
    unsigned int bits = 0;
    while (((Py_ssize_t)1 << bits) < capacity) {
        bits++;
    }
    self->ids = ids;
    self->ordinals = ordinals;
    self->capacity = capacity;
    self->shift = 64 - bits;
    for (Py_ssize_t i = 0; i < old_capacity; i++) {
        if (old_ids[i] != 0) {
            Py_ssize_t slot = delta_slot(self, old_ids[i]);
            ids[slot] = old_ids[i];
            ordinals[slot] = old_ordinals[i];
        }
    }
    PyMem_Free(old_ids);
    PyMem_Free(old_ordinals);
    return 0;
}

/* Adds id -> ordinal; 1 if added, 0 if the id was there already (nothing changed), -1 error. */
static int
delta_add(DeltaMap *self, uint64_t id, uint32_t ordinal)
{
    if (id == 0 || id > MAX_ACCOUNT) {
        PyErr_SetString(PyExc_ValueError, "a delta id is an account id (1..2**63-1)");
        return -1;
    }
    if ((self->size + 1) * 4 > self->capacity * 3) {
        Py_ssize_t capacity = self->capacity ? self->capacity * 2 : DELTA_MIN_CAPACITY;
        if (delta_grow(self, capacity) < 0) {
            return -1;
        }
    }
    Py_ssize_t slot = delta_slot(self, id);
    if (self->ids[slot] == id) {
        return 0;
    }
    self->ids[slot] = id;
    self->ordinals[slot] = ordinal;
    self->size++;
    return 1;
}

static void
DeltaMap_dealloc(DeltaMap *self)
{
    PyMem_Free(self->ids);
    PyMem_Free(self->ordinals);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* An id argument: 1 and the value if it can be an account id, 0 if it cannot (not an error:
 * such an id is simply absent), -1 on a non-int. */
static int
delta_key(PyObject *key, uint64_t *id)
{
    if (!PyLong_Check(key)) {
        PyErr_SetString(PyExc_TypeError, "delta ids are ints");
        return -1;
    }
    int overflow = 0;
    long long value = PyLong_AsLongLongAndOverflow(key, &overflow);
    if (value == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow != 0 || value < 1) {
        return 0;
    }
    *id = (uint64_t)value;
    return 1;
}

/* A Python id's ordinal: -1 if the map lacks it (also for ints no account has), -2 with an
 * exception set for a non-int. */
static int64_t
delta_lookup(const DeltaMap *self, PyObject *key)
{
    uint64_t id = 0;
    int valid = delta_key(key, &id);
    if (valid < 0) {
        return -2;
    }
    return valid ? delta_ordinal(self, id) : -1;
}

static PyObject *
DeltaMap_get(DeltaMap *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get(id, default=-1)");
        return NULL;
    }
    int64_t ordinal = delta_lookup(self, args[0]);
    if (ordinal == -2) {
        return NULL;
    }
    if (ordinal >= 0) {
        return PyLong_FromLongLong(ordinal);
    }
    return nargs == 2 ? Py_NewRef(args[1]) : PyLong_FromLong(-1);
}

static int
DeltaMap_ass_subscript(DeltaMap *self, PyObject *key, PyObject *value)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "delta ids are never removed one by one");
        return -1;
    }
    uint64_t id = 0;
    int valid = delta_key(key, &id);
    if (valid < 0) {
        return -1;
    }
    unsigned long ordinal = PyLong_AsUnsignedLong(value);
    if (ordinal == (unsigned long)-1 && PyErr_Occurred()) {
        return -1;
    }
    if (!valid || ordinal > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "an account id (1..2**63-1) to a 32-bit ordinal");
        return -1;
    }
    int added = delta_add(self, id, (uint32_t)ordinal);
    if (added == 0) {
        PyErr_SetString(PyExc_KeyError, "the id is in the delta already");
        return -1;
    }
    return added < 0 ? -1 : 0;
}

static PyObject *
DeltaMap_subscript(DeltaMap *self, PyObject *key)
{
    int64_t ordinal = delta_lookup(self, key);
    if (ordinal == -2) {
        return NULL;
    }
    if (ordinal < 0) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return PyLong_FromLongLong(ordinal);
}

static Py_ssize_t
DeltaMap_length(DeltaMap *self)
{
    return self->size;
}

static PyObject *
DeltaMap_extend(DeltaMap *self, PyObject *args)
{
    PyObject *source;
    unsigned long long first;
    if (!PyArg_ParseTuple(args, "OK", &source, &first)) {
        return NULL;
    }
    Py_buffer view;
    if (get_vector(source, &view, 8, "ids") < 0) {
        return NULL;
    }
    const uint64_t *ids = (const uint64_t *)view.buf;
    Py_ssize_t count = view.len / 8;
    if (first + (unsigned long long)count > (unsigned long long)UINT32_MAX + 1) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "too many accounts for 32-bit ordinals");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        int added = delta_add(self, ids[i], (uint32_t)(first + (unsigned long long)i));
        if (added <= 0) {
            PyBuffer_Release(&view);
            if (added == 0) {
                PyErr_SetString(PyExc_ValueError, "duplicate delta ids");
            }
            return NULL;
        }
    }
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *
DeltaMap_clear(DeltaMap *self, PyObject *Py_UNUSED(ignored))
{
    PyMem_Free(self->ids);
    PyMem_Free(self->ordinals);
    self->ids = NULL;
    self->ordinals = NULL;
    self->capacity = 0;
    self->size = 0;
    Py_RETURN_NONE;
}

static PyObject *
DeltaMap_sizeof(DeltaMap *self, PyObject *Py_UNUSED(ignored))
{
    size_t slots = (size_t)self->capacity * (sizeof(uint64_t) + sizeof(uint32_t));
    return PyLong_FromSize_t(sizeof(DeltaMap) + slots);
}

static PyMethodDef DeltaMap_methods[] = {
    {"get", (PyCFunction)(void (*)(void))DeltaMap_get, METH_FASTCALL,
     "get(id, default=-1): the id's ordinal, or default (also for ints no account has)."},
    {"extend", (PyCFunction)DeltaMap_extend, METH_VARARGS,
     "extend(ids, first): adds ids (a buffer of uint64) as ordinals first, first + 1, ...; "
     "ValueError on a duplicate."},
    {"clear", (PyCFunction)DeltaMap_clear, METH_NOARGS, "Forget every id, freeing the slots."},
    {"__sizeof__", (PyCFunction)DeltaMap_sizeof, METH_NOARGS, "Bytes held, slots included."},
    {NULL, NULL, 0, NULL},
};

static PyMappingMethods DeltaMap_mapping = {
    .mp_length = (lenfunc)DeltaMap_length,
    .mp_subscript = (binaryfunc)DeltaMap_subscript,
    .mp_ass_subscript = (objobjargproc)DeltaMap_ass_subscript,
};

static PyTypeObject DeltaMapType = {
    .ob_base = PyVarObject_HEAD_INIT(NULL, 0).tp_name = "app.index._probe.DeltaMap",
    .tp_doc = "DeltaMap(): an ordinal map's delta, account id -> 32-bit ordinal, add-only "
              "(map[id] = ordinal; KeyError if the id is there already).",
    .tp_basicsize = sizeof(DeltaMap),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)DeltaMap_dealloc,
    .tp_methods = DeltaMap_methods,
    .tp_as_mapping = &DeltaMap_mapping,
};

/* -- IndexProbe ------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    BaseProbe *base;         /* the ordinal map's base */
    DeltaMap *delta;         /* the ids the base lacks */
    PyObject *bitmaps;       /* dict: country code (str) -> bitmap of ordinals */
    PyObject *every_country; /* the code whose bitmap withholds everywhere ("XX") */
} IndexProbe;

static int
IndexProbe_init(IndexProbe *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"base", "delta", "bitmaps", "every_country", NULL};
    PyObject *base, *delta, *bitmaps, *every_country;
    if (self->base != NULL) {
        PyErr_SetString(PyExc_TypeError, "IndexProbe is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!U", names, &BaseProbeType, &base,
                                     &DeltaMapType, &delta, &PyDict_Type, &bitmaps,
                                     &every_country)) {
        return -1;
    }
    if (check_initialised((BaseProbe *)base) < 0) {
        return -1;
    }
    self->base = (BaseProbe *)Py_NewRef(base);
    self->delta = (DeltaMap *)Py_NewRef(delta);
    self->bitmaps = Py_NewRef(bitmaps);
    self->every_country = Py_NewRef(every_country);
    return 0;
}

static void
IndexProbe_dealloc(IndexProbe *self)
{
    /* No cycles to collect: an array probe, a delta map, a dict of bitmaps, a str. */
    Py_XDECREF(self->base);
    Py_XDECREF(self->delta);
    Py_XDECREF(self->bitmaps);
    Py_XDECREF(self->every_country);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* 1 if the country's bitmap holds the ordinal, 0 if not (or the country has none), -1 error. */
static int
bitmap_holds(PyObject *bitmaps, PyObject *country, PyObject *ordinal)
{
    PyObject *bitmap = PyDict_GetItemWithError(bitmaps, country);
    if (bitmap == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_INCREF(bitmap);
    int holds = PySequence_Contains(bitmap, ordinal); /* the bitmap's own `in` */
    Py_DECREF(bitmap);
    return holds;
}

/* VisibilityIndex.is_withheld for a parsed account: 1 withheld, 0 not, -1 error. */
static int
index_withholds(IndexProbe *self, uint64_t account, PyObject *country)
{
    PyObject *ordinal;
    int64_t in_base = base_ordinal(self->base, account);
    if (in_base >= 0) {
        ordinal = PyLong_FromLongLong(in_base);
        if (ordinal == NULL) {
            return -1;
        }
    }
    else {
        int64_t in_delta = delta_ordinal(self->delta, account);
        if (in_delta < 0) {
            return 0;
        }
        ordinal = PyLong_FromLongLong(in_delta);
        if (ordinal == NULL) {
            return -1;
        }
    }
    int withheld = bitmap_holds(self->bitmaps, country, ordinal);
    if (withheld == 0) {
        withheld = bitmap_holds(self->bitmaps, self->every_country, ordinal);
    }
    Py_DECREF(ordinal);
    return withheld;
}

static int
check_probe(IndexProbe *self)
{
    if (self->base == NULL) {
        PyErr_SetString(PyExc_ValueError, "IndexProbe is not initialised");
        return -1;
    }
    return 0;
}

static PyObject *
IndexProbe_withheld_decimal(IndexProbe *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "withheld_decimal(digits, country) takes 2 arguments");
        return NULL;
    }
    PyObject *digits = args[0], *country = args[1];
    if (!PyBytes_Check(digits) || !PyUnicode_Check(country)) {
        PyErr_SetString(PyExc_TypeError, "digits must be bytes and country a str");
        return NULL;
    }
    if (check_probe(self) < 0) {
        return NULL;
    }
    uint64_t account;
    if (!parse_account((const unsigned char *)PyBytes_AS_STRING(digits),
                       PyBytes_GET_SIZE(digits), &account)) {
        Py_RETURN_NONE;
    }
    int withheld = index_withholds(self, account, country);
    if (withheld < 0) {
        return NULL;
    }
    return PyBool_FromLong(withheld);
}

static PyMethodDef IndexProbe_methods[] = {
    {"withheld_decimal", (PyCFunction)(void (*)(void))IndexProbe_withheld_decimal,
     METH_FASTCALL,
     "withheld_decimal(digits, country): True if the account written in digits (bytes) is "
     "withheld in country or everywhere, False if not, None if the digits are not an account "
     "id in canonical decimal (1..2**63-1)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject IndexProbeType = {
    .ob_base = PyVarObject_HEAD_INIT(NULL, 0).tp_name = "app.index._probe.IndexProbe",
    .tp_doc = "IndexProbe(base, delta, bitmaps, every_country): looks accounts up in a "
              "visibility index's structures, which it keeps alive. The dicts are read at each "
              "lookup, so updates made to them in place are seen.",
    .tp_basicsize = sizeof(IndexProbe),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)IndexProbe_init,
    .tp_dealloc = (destructor)IndexProbe_dealloc,
    .tp_methods = IndexProbe_methods,
};

/* -- QueryAnswerer --------------------------------------------------------------------- */

#define LETTERS 26
#define ACCOUNT_KEY "account="
#define COUNTRY_KEY "&country="
#define KEY_SIZE(key) (sizeof(key) - 1)
#define COUNTRY_ENDING (KEY_SIZE(COUNTRY_KEY) + 2) /* "&country=IN" */
#define BODY_OPEN "{\"account\":\""
#define BODY_COUNTRY "\",\"country\":\""
#define BODY_SHOWN "\",\"visible\":true}"
#define BODY_HIDDEN "\",\"visible\":false}"

typedef struct {
    PyObject_HEAD
    PyObject *codes[LETTERS * LETTERS]; /* each viewer country's code (str), by its letters */
} QueryAnswerer;

static int
letter_index(unsigned char c)
{
    if (c >= 'a' && c <= 'z') {
        c -= 'a' - 'A'; /* a country is spelled in any case */
    }
    return (c >= 'A' && c <= 'Z') ? c - 'A' : -1;
}

static int
QueryAnswerer_init(QueryAnswerer *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"countries", NULL};
    PyObject *countries;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O", names, &countries)) {
        return -1;
    }
    for (int i = 0; i < LETTERS * LETTERS; i++) {
        if (self->codes[i] != NULL) {
            PyErr_SetString(PyExc_TypeError, "QueryAnswerer is initialised once");
            return -1;
        }
    }
    PyObject *iterator = PyObject_GetIter(countries);
    if (iterator == NULL) {
        return -1;
    }
    PyObject *code;
    while ((code = PyIter_Next(iterator)) != NULL) {
        const char *text = PyUnicode_Check(code) ? PyUnicode_AsUTF8(code) : NULL;
        int first = text != NULL && strlen(text) == 2 ? letter_index(text[0]) : -1;
        int second = first >= 0 ? letter_index(text[1]) : -1;
        if (second < 0 || text[0] > 'Z' || text[1] > 'Z') {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "not an upper-case country code: %R", code);
            }
            Py_DECREF(code);
            Py_DECREF(iterator);
            return -1;
        }
        Py_XSETREF(self->codes[first * LETTERS + second], code); /* takes the reference */
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -1 : 0;
}

static void
QueryAnswerer_dealloc(QueryAnswerer *self)
{
    for (int i = 0; i < LETTERS * LETTERS; i++) {
        Py_XDECREF(self->codes[i]);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
QueryAnswerer_answer(QueryAnswerer *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "answer(query, probe) takes 2 arguments");
        return NULL;
    }
    PyObject *query = args[0], *probe = args[1];
    if (!PyBytes_Check(query) || !PyObject_TypeCheck(probe, &IndexProbeType)) {
        PyErr_SetString(PyExc_TypeError, "query must be bytes and probe an IndexProbe");
        return NULL;
    }
    if (check_probe((IndexProbe *)probe) < 0) {
        return NULL;
    }
    const unsigned char *text = (const unsigned char *)PyBytes_AS_STRING(query);
    const Py_ssize_t size = PyBytes_GET_SIZE(query);
    /* Exactly account=<digits>&country=<two letters>; anything else is Python's to answer. */
    if (size < (Py_ssize_t)(KEY_SIZE(ACCOUNT_KEY) + 1 + COUNTRY_ENDING) ||
        memcmp(text, ACCOUNT_KEY, KEY_SIZE(ACCOUNT_KEY)) != 0 ||
        memcmp(text + size - COUNTRY_ENDING, COUNTRY_KEY, KEY_SIZE(COUNTRY_KEY)) != 0) {
        Py_RETURN_NONE;
    }
    int first = letter_index(text[size - 2]), second = letter_index(text[size - 1]);
    PyObject *country = first >= 0 && second >= 0 ? self->codes[first * LETTERS + second] : NULL;
    const unsigned char *digits = text + KEY_SIZE(ACCOUNT_KEY);
    const Py_ssize_t digit_count = size - KEY_SIZE(ACCOUNT_KEY) - COUNTRY_ENDING;
    uint64_t account;
    if (country == NULL || !parse_account(digits, digit_count, &account)) {
        Py_RETURN_NONE;
    }
    int withheld = index_withholds((IndexProbe *)probe, account, country);
    if (withheld < 0) {
        return NULL;
    }
    const char *ending = withheld ? BODY_HIDDEN : BODY_SHOWN;
    const size_t ending_size = withheld ? KEY_SIZE(BODY_HIDDEN) : KEY_SIZE(BODY_SHOWN);
    PyObject *body = PyBytes_FromStringAndSize(
        NULL, KEY_SIZE(BODY_OPEN) + digit_count + KEY_SIZE(BODY_COUNTRY) + 2 + ending_size);
    if (body == NULL) {
        return NULL;
    }
    char *out = PyBytes_AS_STRING(body);
    memcpy(out, BODY_OPEN, KEY_SIZE(BODY_OPEN));
    out += KEY_SIZE(BODY_OPEN);
    memcpy(out, digits, digit_count);
    out += digit_count;
    memcpy(out, BODY_COUNTRY, KEY_SIZE(BODY_COUNTRY));
    out += KEY_SIZE(BODY_COUNTRY);
    *out++ = (char)('A' + first);
    *out++ = (char)('A' + second);
    memcpy(out, ending, ending_size);
    return body;
}

#define POST_KEY "&post="
#define BODY_POST "\",\"post\":\""
#define BODY_BY_AUTHOR "\",\"visible\":false,\"scope\":\"account\"}"
#define BODY_BY_POST "\",\"visible\":false,\"scope\":\"post\"}"

/* Where "&post=" starts in text[0..size), or -1. */
static Py_ssize_t
find_post_key(const unsigned char *text, Py_ssize_t size)
{
    for (Py_ssize_t i = 0; i + (Py_ssize_t)KEY_SIZE(POST_KEY) <= size; i++) {
        if (text[i] == '&' && memcmp(text + i, POST_KEY, KEY_SIZE(POST_KEY)) == 0) {
            return i;
        }
    }
    return -1;
}

static PyObject *
QueryAnswerer_answer_post(QueryAnswerer *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "answer_post(query, accounts, posts) takes 3 arguments");
        return NULL;
    }
    PyObject *query = args[0], *accounts = args[1], *posts = args[2];
    if (!PyBytes_Check(query) || !PyObject_TypeCheck(accounts, &IndexProbeType) ||
        !PyObject_TypeCheck(posts, &IndexProbeType)) {
        PyErr_SetString(PyExc_TypeError, "query must be bytes and both probes IndexProbes");
        return NULL;
    }
    if (check_probe((IndexProbe *)accounts) < 0 || check_probe((IndexProbe *)posts) < 0) {
        return NULL;
    }
    const unsigned char *text = (const unsigned char *)PyBytes_AS_STRING(query);
    const Py_ssize_t size = PyBytes_GET_SIZE(query);
    /* Exactly account=<digits>&post=<digits>&country=<two letters>; else Python answers. */
    if (size < (Py_ssize_t)(KEY_SIZE(ACCOUNT_KEY) + COUNTRY_ENDING) ||
        memcmp(text, ACCOUNT_KEY, KEY_SIZE(ACCOUNT_KEY)) != 0 ||
        memcmp(text + size - COUNTRY_ENDING, COUNTRY_KEY, KEY_SIZE(COUNTRY_KEY)) != 0) {
        Py_RETURN_NONE;
    }
    int first = letter_index(text[size - 2]), second = letter_index(text[size - 1]);
    PyObject *country = first >= 0 && second >= 0 ? self->codes[first * LETTERS + second] : NULL;
    const unsigned char *middle = text + KEY_SIZE(ACCOUNT_KEY);
    const Py_ssize_t middle_size = size - KEY_SIZE(ACCOUNT_KEY) - COUNTRY_ENDING;
    const Py_ssize_t key_at = find_post_key(middle, middle_size);
    if (country == NULL || key_at < 0) {
        Py_RETURN_NONE;
    }
    const unsigned char *account_digits = middle, *post_digits = middle + key_at + KEY_SIZE(POST_KEY);
    const Py_ssize_t account_count = key_at;
    const Py_ssize_t post_count = middle_size - key_at - (Py_ssize_t)KEY_SIZE(POST_KEY);
    uint64_t account, post;
    if (!parse_account(account_digits, account_count, &account) ||
        !parse_account(post_digits, post_count, &post)) {
        Py_RETURN_NONE;
    }
    int by_author = index_withholds((IndexProbe *)accounts, account, country);
    if (by_author < 0) {
        return NULL;
    }
    int by_post = index_withholds((IndexProbe *)posts, post, country);
    if (by_post < 0) {
        return NULL;
    }
    const char *ending = by_author ? BODY_BY_AUTHOR : by_post ? BODY_BY_POST : BODY_SHOWN;
    const size_t ending_size = by_author ? KEY_SIZE(BODY_BY_AUTHOR)
                               : by_post ? KEY_SIZE(BODY_BY_POST)
                                         : KEY_SIZE(BODY_SHOWN);
    PyObject *body = PyBytes_FromStringAndSize(
        NULL, KEY_SIZE(BODY_OPEN) + account_count + KEY_SIZE(BODY_POST) + post_count +
                  KEY_SIZE(BODY_COUNTRY) + 2 + ending_size);
    if (body == NULL) {
        return NULL;
    }
    char *out = PyBytes_AS_STRING(body);
    memcpy(out, BODY_OPEN, KEY_SIZE(BODY_OPEN));
    out += KEY_SIZE(BODY_OPEN);
    memcpy(out, account_digits, account_count);
    out += account_count;
    memcpy(out, BODY_POST, KEY_SIZE(BODY_POST));
    out += KEY_SIZE(BODY_POST);
    memcpy(out, post_digits, post_count);
    out += post_count;
    memcpy(out, BODY_COUNTRY, KEY_SIZE(BODY_COUNTRY));
    out += KEY_SIZE(BODY_COUNTRY);
    *out++ = (char)('A' + first);
    *out++ = (char)('A' + second);
    memcpy(out, ending, ending_size);
    return body;
}

static PyMethodDef QueryAnswerer_methods[] = {
    {"answer", (PyCFunction)(void (*)(void))QueryAnswerer_answer, METH_FASTCALL,
     "answer(query, probe): the GET /visible body for a query string of exactly "
     "account=<id>&country=<viewer country, any case>, looked up through probe (an "
     "IndexProbe); None for any other query, a malformed id or an unknown country."},
    {"answer_post", (PyCFunction)(void (*)(void))QueryAnswerer_answer_post, METH_FASTCALL,
     "answer_post(query, accounts, posts): the GET /visible body for exactly "
     "account=<id>&post=<id>&country=<viewer country>, the author looked up through accounts "
     "and the post through posts (IndexProbes; the author's scope wins); None otherwise."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject QueryAnswererType = {
    .ob_base = PyVarObject_HEAD_INIT(NULL, 0).tp_name = "app.index._probe.QueryAnswerer",
    .tp_doc = "QueryAnswerer(countries): answers GET /visible's common query; countries are "
              "the upper-case codes a viewer may be in.",
    .tp_basicsize = sizeof(QueryAnswerer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)QueryAnswerer_init,
    .tp_dealloc = (destructor)QueryAnswerer_dealloc,
    .tp_methods = QueryAnswerer_methods,
};

/* ---- POST /visible's post batch, read and written in one pass each ------------------------
 *
 * scan_post_items(body, start, max_items): the items of '{"country": …, "posts": [' … ']}'
 * from ``start`` (just past the '['), each exactly '{"post": "<id>", "account": "<id>"}' with
 * JSON whitespace anywhere between tokens, then ']' and '}' ending the body: their ids as
 * uint64 pairs (post, account), or None for anything else (no escapes, other keys, a
 * non-canonical id …; the caller then parses the body as JSON and answers the same).
 * render_post_items(body, start, codes, endings): the response's items, each
 * '{"post":"<id>","account":"<id>' then ``endings[codes[i]]``, joined by ','. */

#define IS_JSON_SPACE(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')

typedef struct {
    const char *at, *end;
} Cursor;

static void
skip_space(Cursor *c)
{
    while (c->at < c->end && IS_JSON_SPACE(*c->at)) {
        c->at++;
    }
}

/* Whitespace, then exactly ``token``. */
static int
expect(Cursor *c, const char *token, size_t length)
{
    skip_space(c);
    if ((size_t)(c->end - c->at) < length || memcmp(c->at, token, length) != 0) {
        return -1;
    }
    c->at += length;
    return 0;
}

/* Whitespace, then a quoted canonical id: its digits' span and value. */
static int
quoted_id(Cursor *c, const char **digits, Py_ssize_t *length, uint64_t *value)
{
    if (expect(c, "\"", 1) < 0 || c->at >= c->end || *c->at < '1' || *c->at > '9') {
        return -1;
    }
    const char *start = c->at;
    uint64_t v = 0;
    while (c->at < c->end && *c->at >= '0' && *c->at <= '9') {
        if (c->at - start == MAX_DIGITS) {
            return -1;
        }
        v = v * 10 + (uint64_t)(*c->at - '0');
        c->at++;
    }
    if (v > MAX_ACCOUNT || c->at >= c->end || *c->at != '"') {
        return -1;
    }
    c->at++;
    *digits = start;
    *length = c->at - 1 - start;
    *value = v;
    return 0;
}

typedef struct {
    const char *post, *account;
    Py_ssize_t post_length, account_length;
    uint64_t post_id, account_id;
} PostItem;

/* One item, then ',' (1: another follows) or ']' '}' and the end of the body (0); -1 else. */
static int
next_item(Cursor *c, PostItem *item)
{
    if (expect(c, "{", 1) < 0 || expect(c, "\"post\"", 6) < 0 || expect(c, ":", 1) < 0 ||
        quoted_id(c, &item->post, &item->post_length, &item->post_id) < 0 ||
        expect(c, ",", 1) < 0 || expect(c, "\"account\"", 9) < 0 || expect(c, ":", 1) < 0 ||
        quoted_id(c, &item->account, &item->account_length, &item->account_id) < 0 ||
        expect(c, "}", 1) < 0) {
        return -1;
    }
    skip_space(c);
    if (c->at < c->end && *c->at == ',') {
        c->at++;
        return 1;
    }
    if (expect(c, "]", 1) < 0 || expect(c, "}", 1) < 0) {
        return -1;
    }
    skip_space(c);
    return c->at == c->end ? 0 : -1;
}

static int
items_cursor(PyObject *body, Py_ssize_t start, Cursor *c)
{
    if (!PyBytes_Check(body)) {
        PyErr_SetString(PyExc_TypeError, "body must be bytes");
        return -1;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(body);
    if (start < 0 || start > size) {
        PyErr_SetString(PyExc_ValueError, "start is outside the body");
        return -1;
    }
    c->at = PyBytes_AS_STRING(body) + start;
    c->end = PyBytes_AS_STRING(body) + size;
    return 0;
}

static PyObject *
scan_post_items(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Cursor c;
    Py_ssize_t start, max_items;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "scan_post_items(body, start, max_items)");
        return NULL;
    }
    if ((start = PyLong_AsSsize_t(args[1])) == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if ((max_items = PyLong_AsSsize_t(args[2])) == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (items_cursor(args[0], start, &c) < 0) {
        return NULL;
    }
    /* An item takes at least 27 bytes: this bounds the count before anything is parsed. */
    Py_ssize_t most = (c.end - c.at) / 27 + 1;
    if (most > max_items) {
        most = max_items;
    }
    PyObject *ids = PyBytes_FromStringAndSize(NULL, most * 16);
    if (ids == NULL) {
        return NULL;
    }
    uint64_t *out = (uint64_t *)PyBytes_AS_STRING(ids);
    Py_ssize_t count = 0;
    PostItem item;
    for (;;) {
        int more = count < most ? next_item(&c, &item) : -1;
        if (more < 0) {
            Py_DECREF(ids);
            Py_RETURN_NONE;
        }
        out[2 * count] = item.post_id;
        out[2 * count + 1] = item.account_id;
        count++;
        if (more == 0) {
            break;
        }
    }
    if (_PyBytes_Resize(&ids, count * 16) < 0) {
        return NULL;
    }
    return ids;
}

static PyObject *
render_post_items(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const char post_open[] = "{\"post\":\"", author_open[] = "\",\"account\":\"";
    Cursor c;
    Py_ssize_t start;
    Py_buffer codes;
    const char *ending[3];
    Py_ssize_t ending_length[3];
    if (nargs != 4 || !PyTuple_Check(args[3]) || PyTuple_GET_SIZE(args[3]) != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "render_post_items(body, start, codes, endings: 3 bytes)");
        return NULL;
    }
    for (int k = 0; k < 3; k++) {
        PyObject *text = PyTuple_GET_ITEM(args[3], k);
        if (!PyBytes_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "endings must be bytes");
            return NULL;
        }
        ending[k] = PyBytes_AS_STRING(text);
        ending_length[k] = PyBytes_GET_SIZE(text);
    }
    if ((start = PyLong_AsSsize_t(args[1])) == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (items_cursor(args[0], start, &c) < 0 ||
        PyObject_GetBuffer(args[2], &codes, PyBUF_C_CONTIGUOUS) < 0) {
        return NULL;
    }
    const unsigned char *code = (const unsigned char *)codes.buf;
    const Py_ssize_t items = codes.len;
    Py_ssize_t longest = ending_length[0];
    for (int k = 1; k < 3; k++) {
        if (ending_length[k] > longest) {
            longest = ending_length[k];
        }
    }
    /* Ids take no more room than in the body; the fixed parts are counted per item. */
    Py_ssize_t capacity =
        (c.end - c.at) + items * (Py_ssize_t)(sizeof post_open + sizeof author_open + longest);
    PyObject *rendered = PyBytes_FromStringAndSize(NULL, capacity);
    if (rendered == NULL) {
        PyBuffer_Release(&codes);
        return NULL;
    }
    char *out = PyBytes_AS_STRING(rendered);
    Py_ssize_t i = 0;
    PostItem item;
    for (;; i++) {
        int more = i < items ? next_item(&c, &item) : -1;
        if (more < 0 || code[i] > 2) {
            PyBuffer_Release(&codes);
            Py_DECREF(rendered);
            PyErr_SetString(PyExc_ValueError, "the body is not the scanned batch");
            return NULL;
        }
        if (i > 0) {
            *out++ = ',';
        }
        memcpy(out, post_open, sizeof post_open - 1);
        out += sizeof post_open - 1;
        memcpy(out, item.post, (size_t)item.post_length);
        out += item.post_length;
        memcpy(out, author_open, sizeof author_open - 1);
        out += sizeof author_open - 1;
        memcpy(out, item.account, (size_t)item.account_length);
        out += item.account_length;
        memcpy(out, ending[code[i]], (size_t)ending_length[code[i]]);
        out += ending_length[code[i]];
        if (more == 0) {
            break;
        }
    }
    Py_ssize_t rendered_items = i + 1;
    PyBuffer_Release(&codes);
    if (rendered_items != items) {
        Py_DECREF(rendered);
        PyErr_SetString(PyExc_ValueError, "codes and items differ in number");
        return NULL;
    }
    if (_PyBytes_Resize(&rendered, out - PyBytes_AS_STRING(rendered)) < 0) {
        return NULL;
    }
    return rendered;
}

static PyMethodDef probe_functions[] = {
    {"scan_post_items", (PyCFunction)(void (*)(void))scan_post_items, METH_FASTCALL,
     "The (post, account) ids of a post batch's items as uint64 pairs, or None."},
    {"render_post_items", (PyCFunction)(void (*)(void))render_post_items, METH_FASTCALL,
     "A post batch response's items, from the scanned body and each item's ending code."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef probe_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "app.index._probe",
    .m_doc = "Compiled probes of GET /visible's lookup (optional; see _probe.c).",
    .m_size = -1,
    .m_methods = probe_functions,
};


static int
add_type(PyObject *module, PyTypeObject *type, const char *name)
{
    if (PyType_Ready(type) < 0) {
        return -1;
    }
    Py_INCREF(type);
    if (PyModule_AddObject(module, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__probe(void)
{
    PyObject *module = PyModule_Create(&probe_module);
    if (module == NULL) {
        return NULL;
    }
    if (add_type(module, &BaseProbeType, "BaseProbe") < 0 ||
        add_type(module, &DeltaMapType, "DeltaMap") < 0 ||
        add_type(module, &IndexProbeType, "IndexProbe") < 0 ||
        add_type(module, &QueryAnswererType, "QueryAnswerer") < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
