/* stages/h5source/h5source_type.c - which datasets become which columns.
 *
 * A dataset of rank 1 is one value per row; rank 2..4 is a fixed-shape array
 * per row (a stack of n x n matrices is (rows, n, n)). Numbers are read as
 * native, whatever the file's byte order, so big-endian files just work:
 * 32- and 64-bit integers and floats keep their type, and 8- and 16-bit
 * integers widen to 32 bits of the same sign (lossless; a batch has no
 * narrower type). Variable-length sequences of bytes (what h5sink writes for
 * a bytes column), variable-length strings and fixed-length strings all
 * become bytes columns, one row each, strings without their terminator or
 * padding. Everything else is refused with the reason, before any row is
 * read. */
#include <stdio.h>
#include <string.h>

#include "h5source_impl.h"

#define H5R_MAX_RANK (1 + SL_MAX_DIMS)

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_TIME: return "time";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length";
    case H5T_ARRAY: return "array";
    default: return "unknown";
    }
}

#define UNSUPPORTED(file, col, ...)                                                              \
    SL_FAIL(SL_EINVAL, "%s: dataset '%s': %s is not supported (sluice reads integers, floats, " \
                       "variable-length bytes and strings)",                                    \
            (file), (col)->path, __VA_ARGS__)

static sl_status classify_number(const char *file, h5r_col *col, hid_t ft, sl_error *err)
{
    H5T_class_t cls = H5Tget_class(ft);
    size_t size = H5Tget_size(ft);
    col->kind = H5R_FIXED;
    col->own_memtype = false;
    if (cls == H5T_FLOAT && (size == 4 || size == 8)) {
        col->type = size == 4 ? SL_TYPE_F32 : SL_TYPE_F64;
        col->memtype = size == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
        return SL_OK;
    }
    if (cls == H5T_FLOAT) {
        char what[64];
        snprintf(what, sizeof what, "a %zu-byte float", size);
        return UNSUPPORTED(file, col, what);
    }
    bool sign = H5Tget_sign(ft) == H5T_SGN_2;
    if (size > 8) {
        char what[64];
        snprintf(what, sizeof what, "a %zu-byte integer", size);
        return UNSUPPORTED(file, col, what);
    }
    if (size == 8) {
        col->type = sign ? SL_TYPE_I64 : SL_TYPE_U64;
        col->memtype = sign ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
    } else {
        col->type = sign ? SL_TYPE_I32 : SL_TYPE_U32;
        col->memtype = sign ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32;
    }
    return SL_OK;
}

/* Variable-length data and strings make BYTES columns; ft is the file type. */
static sl_status classify_bytes(const char *file, h5r_col *col, hid_t ft, sl_error *err)
{
    col->type = SL_TYPE_BYTES;
    col->own_memtype = true;
    if (H5Tget_class(ft) == H5T_VLEN) {
        hid_t base = H5Tget_super(ft);
        bool byte = base >= 0 && H5Tget_class(base) == H5T_INTEGER && H5Tget_size(base) == 1;
        /* The base's own sign, so HDF5 copies the bytes instead of clipping. */
        bool sign = byte && H5Tget_sign(base) == H5T_SGN_2;
        H5Tclose(base);
        if (!byte)
            return UNSUPPORTED(file, col, "a variable-length sequence of other than bytes");
        col->kind = H5R_VLEN;
        col->memtype = H5Tvlen_create(sign ? H5T_NATIVE_SCHAR : H5T_NATIVE_UCHAR);
    } else if (H5Tis_variable_str(ft) > 0) {
        col->kind = H5R_VSTRING;
        col->memtype = H5Tcopy(H5T_C_S1);
        /* The file's character set: HDF5 converts none into another. */
        if (col->memtype >= 0 && (H5Tset_size(col->memtype, H5T_VARIABLE) < 0 ||
                                  H5Tset_cset(col->memtype, H5Tget_cset(ft)) < 0)) {
            sl_status s = H5R_FAIL(file, col->path, "cannot make the memory type");
            H5Tclose(col->memtype); /* after the message: it resets HDF5's error stack */
            col->memtype = H5I_INVALID_HID;
            col->own_memtype = false;
            return s;
        }
    } else {
        col->kind = H5R_FSTRING;
        col->str_size = H5Tget_size(ft);
        col->space_pad = H5Tget_strpad(ft) == H5T_STR_SPACEPAD;
        col->memtype = H5Tcopy(ft); /* the bytes as stored: no conversion */
    }
    if (col->memtype < 0) {
        col->own_memtype = false;
        return H5R_FAIL(file, col->path, "cannot make the memory type");
    }
    return SL_OK;
}

static sl_status classify_type(const char *file, h5r_col *col, hid_t ft, sl_error *err)
{
    H5T_class_t cls = H5Tget_class(ft);
    if (cls == H5T_INTEGER || cls == H5T_FLOAT)
        return classify_number(file, col, ft, err);
    if (cls == H5T_VLEN || cls == H5T_STRING)
        return classify_bytes(file, col, ft, err);
    if (cls == H5T_NO_CLASS)
        return H5R_FAIL(file, col->path, "cannot read the datatype");
    char what[64];
    snprintf(what, sizeof what, "type %s", class_name(cls));
    return UNSUPPORTED(file, col, what);
}

/* "10x3x3" into buf. */
static void shape_text(const hsize_t *d, int rank, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%llu", i ? "x" : "",
                                (unsigned long long)d[i]);
}

static sl_status classify_space(const char *file, h5r_col *col, hid_t sp, sl_error *err)
{
    H5S_class_t cls = H5Sget_simple_extent_type(sp);
    if (cls == H5S_NO_CLASS)
        return H5R_FAIL(file, col->path, "cannot read the dataspace");
    SL_CHECK(cls != H5S_SCALAR, SL_EINVAL,
             "%s: dataset '%s' is a single value, not a column of rows", file, col->path);
    SL_CHECK(cls != H5S_NULL, SL_EINVAL, "%s: dataset '%s' has a null dataspace (no rows)", file,
             col->path);
    int rank = H5Sget_simple_extent_ndims(sp);
    SL_CHECK(rank >= 1 && rank <= H5R_MAX_RANK, SL_EINVAL,
             "%s: dataset '%s' has %d dimensions; at most %d are supported (rows and %d per row)",
             file, col->path, rank, H5R_MAX_RANK, SL_MAX_DIMS);
    hsize_t d[H5R_MAX_RANK];
    if (H5Sget_simple_extent_dims(sp, d, NULL) < 0)
        return H5R_FAIL(file, col->path, "cannot read the dimensions");
    char shape[96];
    shape_text(d, rank, shape, sizeof shape);
    SL_CHECK(rank == 1 || col->type != SL_TYPE_BYTES, SL_EINVAL,
             "%s: dataset '%s' holds variable-length or string data with shape %s; only 1-D is "
             "supported",
             file, col->path, shape);
    col->rows = d[0];
    col->ndims = rank - 1;
    for (int i = 1; i < rank; i++) {
        SL_CHECK(d[i] > 0, SL_EINVAL, "%s: dataset '%s' has shape %s: a row may not be empty",
                 file, col->path, shape);
        col->dims[i - 1] = d[i];
    }
    return SL_OK;
}

sl_status sl__h5r_classify(const char *file, h5r_col *col, sl_error *err)
{
    hid_t ft = H5Dget_type(col->dset);
    if (ft < 0)
        return H5R_FAIL(file, col->path, "cannot read the datatype");
    sl_status s = classify_type(file, col, ft, err);
    H5Tclose(ft);
    if (s != SL_OK)
        return s;
    hid_t sp = H5Dget_space(col->dset);
    if (sp < 0)
        return H5R_FAIL(file, col->path, "cannot read the dataspace");
    s = classify_space(file, col, sp, err);
    H5Sclose(sp);
    return s;
}
