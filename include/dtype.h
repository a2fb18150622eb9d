/* dtype.h - element types (numbered as ggml numbers them) and conversions. */
#ifndef RS_DTYPE_H
#define RS_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum rs_dtype {
	RS_F32 = 0, RS_F16 = 1, RS_Q4_0 = 2, RS_Q8_0 = 8, RS_Q4_K = 12, RS_Q5_K = 13, RS_Q6_K = 14,
	RS_I8 = 24, RS_I16 = 25, RS_I32 = 26, RS_BF16 = 30,
} rs_dtype;

#define RS_QK8_0 32 /* elements per Q8_0 block: f16 scale + 32 int8 */
#define RS_QK_K 256 /* elements per K-quant super-block */

/* Name ("F32", "Q8_0"...), or NULL when the id is not one we can compute with. */
const char *rs_dtype_name(int type);
/* Bytes holding n elements (n a multiple of the block size); 0 if unsupported. */
size_t rs_dtype_row_bytes(int type, int64_t n);
int rs_dtype_block(int type);

float rs_f16_to_f32(uint16_t h);
uint16_t rs_f32_to_f16(float f);
float rs_bf16_to_f32(uint16_t h);
uint16_t rs_f32_to_bf16(float f);

/* Converts n elements of row data of the given type to f32. */
void rs_dequant_row(int type, const void *src, float *dst, int64_t n);
/* Converts n floats to the given type (F32, F16, BF16, Q8_0; the other
 * quantized types are read only). */
void rs_quant_row(int type, const float *src, void *dst, int64_t n);

#endif
