/* The single-id probe of the ordinal map, compiled: decimal digits -> ordinal in the base.
 *
 * Optional speedup (like MarkupSafe's): when no C compiler is at hand the package installs
 * without it and app/index/_ordinals.py does the same in Python. In Python the probe is a
 * dozen object operations on 64-bit ints (~7,000 machine instructions under callgrind,
 * counting int() of the digits); here it is a loop over at most 19 bytes and a binary search
 * over the few keys of one bucket. tests/unit/test_index.py holds both to the same answers.
 *
 * Layout (see _ordinals.py): keys are the sorted hashes h(x) = x * GOLDEN mod 2**64 of the
 * base ids; bucket b = h >> shift holds keys[offsets[b]:offsets[b + 1]]; an id's ordinal is
 * its key's position.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

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

static PyObject *
BaseProbe_ordinal_of_decimal(BaseProbe *self, PyObject *digits)
{
    if (!PyBytes_Check(digits)) {
        PyErr_SetString(PyExc_TypeError, "digits must be bytes");
        return NULL;
    }
    if (self->keys.obj == NULL) {
        PyErr_SetString(PyExc_ValueError, "BaseProbe is not initialised");
        return NULL;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(digits);
    const unsigned char *text = (const unsigned char *)PyBytes_AS_STRING(digits);
    /* Canonical decimal only: 1..19 ASCII digits, no leading zero. */
    if (size < 1 || size > MAX_DIGITS || text[0] == '0') {
        return PyLong_FromLong(NOT_AN_ACCOUNT);
    }
    uint64_t account = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned int digit = (unsigned int)text[i] - '0';
        if (digit > 9) {
            return PyLong_FromLong(NOT_AN_ACCOUNT);
        }
        account = account * 10 + digit;
    }
    if (account > MAX_ACCOUNT) {
        return PyLong_FromLong(NOT_AN_ACCOUNT);
    }
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
        return PyLong_FromUnsignedLong(low);
    }
    return PyLong_FromLong(NOT_IN_BASE);
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

static struct PyModuleDef probe_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "app.index._probe",
    .m_doc = "Compiled probe of the ordinal map's base (optional; see _ordinals.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__probe(void)
{
    if (PyType_Ready(&BaseProbeType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&probe_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&BaseProbeType);
    if (PyModule_AddObject(module, "BaseProbe", (PyObject *)&BaseProbeType) < 0) {
        Py_DECREF(&BaseProbeType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
