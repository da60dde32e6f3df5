/* duckdb_dl.h - libduckdb.so loaded on demand (dlopen) instead of linked.
 *
 * A gateway that never touches the catalog should not pay DuckDB's ~10 MB of
 * relocated pages. Include this header instead of <duckdb.h>: it declares the
 * C API as usual and turns every duckdb_* call the project makes into a call
 * through a table of function pointers, resolved once (pthread_once) on the
 * first gw_duckdb_load(). The library is LLMGW_DUCKDB_LIB when set, else
 * "libduckdb.so" found through the executable's RUNPATH (third_party/duckdb).
 */
#ifndef GW_DUCKDB_DL_H
#define GW_DUCKDB_DL_H

/* engine_duckdb.c streams with the deprecated entry points: declare them */
#undef DUCKDB_API_NO_DEPRECATED
#include <duckdb.h>
#include <stddef.h>

#include "err.h"

/* Every C API function the project calls. A call to one that is missing here
 * fails to link (libduckdb.so is not linked), so the list cannot go stale. */
#define GW_DUCKDB_FUNCS(X) \
    X(duckdb_append_int32) \
    X(duckdb_append_null) \
    X(duckdb_append_varchar) \
    X(duckdb_appender_close) \
    X(duckdb_appender_create) \
    X(duckdb_appender_destroy) \
    X(duckdb_appender_end_row) \
    X(duckdb_appender_error_data) \
    X(duckdb_bind_add_result_column) \
    X(duckdb_bind_get_parameter) \
    X(duckdb_bind_set_bind_data) \
    X(duckdb_bind_set_cardinality) \
    X(duckdb_bind_set_error) \
    X(duckdb_bind_varchar_length) \
    X(duckdb_close) \
    X(duckdb_column_count) \
    X(duckdb_column_logical_type) \
    X(duckdb_column_name) \
    X(duckdb_connect) \
    X(duckdb_create_config) \
    X(duckdb_create_decimal_type) \
    X(duckdb_create_logical_type) \
    X(duckdb_create_table_function) \
    X(duckdb_data_chunk_get_size) \
    X(duckdb_data_chunk_get_vector) \
    X(duckdb_data_chunk_set_size) \
    X(duckdb_decimal_internal_type) \
    X(duckdb_decimal_scale) \
    X(duckdb_decimal_width) \
    X(duckdb_destroy_config) \
    X(duckdb_destroy_data_chunk) \
    X(duckdb_destroy_error_data) \
    X(duckdb_destroy_extracted) \
    X(duckdb_destroy_logical_type) \
    X(duckdb_destroy_pending) \
    X(duckdb_destroy_prepare) \
    X(duckdb_destroy_result) \
    X(duckdb_destroy_table_function) \
    X(duckdb_destroy_value) \
    X(duckdb_disconnect) \
    X(duckdb_error_data_message) \
    X(duckdb_execute_pending) \
    X(duckdb_execute_prepared) \
    X(duckdb_extract_statements) \
    X(duckdb_extract_statements_error) \
    X(duckdb_fetch_chunk) \
    X(duckdb_free) \
    X(duckdb_function_get_extra_info) \
    X(duckdb_function_get_init_data) \
    X(duckdb_function_get_local_init_data) \
    X(duckdb_get_int64) \
    X(duckdb_get_type_id) \
    X(duckdb_init_get_bind_data) \
    X(duckdb_init_get_extra_info) \
    X(duckdb_init_set_error) \
    X(duckdb_init_set_init_data) \
    X(duckdb_init_set_max_threads) \
    X(duckdb_interrupt) \
    X(duckdb_library_version) \
    X(duckdb_nparams) \
    X(duckdb_open) \
    X(duckdb_open_ext) \
    X(duckdb_pending_error) \
    X(duckdb_pending_execute_task) \
    X(duckdb_pending_execution_is_finished) \
    X(duckdb_pending_prepared) \
    X(duckdb_pending_prepared_streaming) \
    X(duckdb_prepare) \
    X(duckdb_prepare_error) \
    X(duckdb_prepare_extracted_statement) \
    X(duckdb_prepared_statement_type) \
    X(duckdb_query) \
    X(duckdb_register_table_function) \
    X(duckdb_result_error) \
    X(duckdb_result_error_type) \
    X(duckdb_rows_changed) \
    X(duckdb_set_config) \
    X(duckdb_string_t_data) \
    X(duckdb_string_t_length) \
    X(duckdb_table_function_add_parameter) \
    X(duckdb_table_function_set_bind) \
    X(duckdb_table_function_set_extra_info) \
    X(duckdb_table_function_set_function) \
    X(duckdb_table_function_set_init) \
    X(duckdb_table_function_set_local_init) \
    X(duckdb_table_function_set_name) \
    X(duckdb_validity_row_is_valid) \
    X(duckdb_value_int64) \
    X(duckdb_vector_assign_string_element_len) \
    X(duckdb_vector_get_column_type) \
    X(duckdb_vector_get_data) \
    X(duckdb_vector_get_validity) \
    X(duckdb_vector_size)

#define GW_DUCKDB_FIELD_(fn) __typeof__(fn) *fn;
typedef struct gw_duckdb_api {
    GW_DUCKDB_FUNCS(GW_DUCKDB_FIELD_)
} gw_duckdb_api_t;

/* Loads libduckdb.so and resolves every function of GW_DUCKDB_FUNCS, once per
 * process (thread-safe; later calls return the first outcome). GW_OK when
 * usable; GW_ENOTFOUND when the library or a symbol is missing, with the
 * reason and the LLMGW_DUCKDB_LIB hint in err (may be NULL). Call it before
 * the first duckdb_* call of any path (open, config, parse). */
gw_err_t gw_duckdb_load(char *err, size_t errlen);

/* The resolved table. Only valid after gw_duckdb_load() returned GW_OK:
 * calling it otherwise is a programming error and aborts with a message. */
const gw_duckdb_api_t *gw_duckdb_api(void);

/* The path dlopen is given: LLMGW_DUCKDB_LIB or "libduckdb.so" (not owned). */
const char *gw_duckdb_lib_name(void);

#define GW_DDB_(fn) (gw_duckdb_api()->fn)
#define duckdb_append_int32(...) GW_DDB_(duckdb_append_int32)(__VA_ARGS__)
#define duckdb_append_null(...) GW_DDB_(duckdb_append_null)(__VA_ARGS__)
#define duckdb_append_varchar(...) GW_DDB_(duckdb_append_varchar)(__VA_ARGS__)
#define duckdb_appender_close(...) GW_DDB_(duckdb_appender_close)(__VA_ARGS__)
#define duckdb_appender_create(...) GW_DDB_(duckdb_appender_create)(__VA_ARGS__)
#define duckdb_appender_destroy(...) GW_DDB_(duckdb_appender_destroy)(__VA_ARGS__)
#define duckdb_appender_end_row(...) GW_DDB_(duckdb_appender_end_row)(__VA_ARGS__)
#define duckdb_appender_error_data(...) GW_DDB_(duckdb_appender_error_data)(__VA_ARGS__)
#define duckdb_bind_add_result_column(...) GW_DDB_(duckdb_bind_add_result_column)(__VA_ARGS__)
#define duckdb_bind_get_parameter(...) GW_DDB_(duckdb_bind_get_parameter)(__VA_ARGS__)
#define duckdb_bind_set_bind_data(...) GW_DDB_(duckdb_bind_set_bind_data)(__VA_ARGS__)
#define duckdb_bind_set_cardinality(...) GW_DDB_(duckdb_bind_set_cardinality)(__VA_ARGS__)
#define duckdb_bind_set_error(...) GW_DDB_(duckdb_bind_set_error)(__VA_ARGS__)
#define duckdb_bind_varchar_length(...) GW_DDB_(duckdb_bind_varchar_length)(__VA_ARGS__)
#define duckdb_close(...) GW_DDB_(duckdb_close)(__VA_ARGS__)
#define duckdb_column_count(...) GW_DDB_(duckdb_column_count)(__VA_ARGS__)
#define duckdb_column_logical_type(...) GW_DDB_(duckdb_column_logical_type)(__VA_ARGS__)
#define duckdb_column_name(...) GW_DDB_(duckdb_column_name)(__VA_ARGS__)
#define duckdb_connect(...) GW_DDB_(duckdb_connect)(__VA_ARGS__)
#define duckdb_create_config(...) GW_DDB_(duckdb_create_config)(__VA_ARGS__)
#define duckdb_create_decimal_type(...) GW_DDB_(duckdb_create_decimal_type)(__VA_ARGS__)
#define duckdb_create_logical_type(...) GW_DDB_(duckdb_create_logical_type)(__VA_ARGS__)
#define duckdb_create_table_function(...) GW_DDB_(duckdb_create_table_function)(__VA_ARGS__)
#define duckdb_data_chunk_get_size(...) GW_DDB_(duckdb_data_chunk_get_size)(__VA_ARGS__)
#define duckdb_data_chunk_get_vector(...) GW_DDB_(duckdb_data_chunk_get_vector)(__VA_ARGS__)
#define duckdb_data_chunk_set_size(...) GW_DDB_(duckdb_data_chunk_set_size)(__VA_ARGS__)
#define duckdb_decimal_internal_type(...) GW_DDB_(duckdb_decimal_internal_type)(__VA_ARGS__)
#define duckdb_decimal_scale(...) GW_DDB_(duckdb_decimal_scale)(__VA_ARGS__)
#define duckdb_decimal_width(...) GW_DDB_(duckdb_decimal_width)(__VA_ARGS__)
#define duckdb_destroy_config(...) GW_DDB_(duckdb_destroy_config)(__VA_ARGS__)
#define duckdb_destroy_data_chunk(...) GW_DDB_(duckdb_destroy_data_chunk)(__VA_ARGS__)
#define duckdb_destroy_error_data(...) GW_DDB_(duckdb_destroy_error_data)(__VA_ARGS__)
#define duckdb_destroy_extracted(...) GW_DDB_(duckdb_destroy_extracted)(__VA_ARGS__)
#define duckdb_destroy_logical_type(...) GW_DDB_(duckdb_destroy_logical_type)(__VA_ARGS__)
#define duckdb_destroy_pending(...) GW_DDB_(duckdb_destroy_pending)(__VA_ARGS__)
#define duckdb_destroy_prepare(...) GW_DDB_(duckdb_destroy_prepare)(__VA_ARGS__)
#define duckdb_destroy_result(...) GW_DDB_(duckdb_destroy_result)(__VA_ARGS__)
#define duckdb_destroy_table_function(...) GW_DDB_(duckdb_destroy_table_function)(__VA_ARGS__)
#define duckdb_destroy_value(...) GW_DDB_(duckdb_destroy_value)(__VA_ARGS__)
#define duckdb_disconnect(...) GW_DDB_(duckdb_disconnect)(__VA_ARGS__)
#define duckdb_error_data_message(...) GW_DDB_(duckdb_error_data_message)(__VA_ARGS__)
#define duckdb_execute_pending(...) GW_DDB_(duckdb_execute_pending)(__VA_ARGS__)
#define duckdb_execute_prepared(...) GW_DDB_(duckdb_execute_prepared)(__VA_ARGS__)
#define duckdb_extract_statements(...) GW_DDB_(duckdb_extract_statements)(__VA_ARGS__)
#define duckdb_extract_statements_error(...) GW_DDB_(duckdb_extract_statements_error)(__VA_ARGS__)
#define duckdb_fetch_chunk(...) GW_DDB_(duckdb_fetch_chunk)(__VA_ARGS__)
#define duckdb_free(...) GW_DDB_(duckdb_free)(__VA_ARGS__)
#define duckdb_function_get_extra_info(...) GW_DDB_(duckdb_function_get_extra_info)(__VA_ARGS__)
#define duckdb_function_get_init_data(...) GW_DDB_(duckdb_function_get_init_data)(__VA_ARGS__)
#define duckdb_function_get_local_init_data(...) GW_DDB_(duckdb_function_get_local_init_data)(__VA_ARGS__)
#define duckdb_get_int64(...) GW_DDB_(duckdb_get_int64)(__VA_ARGS__)
#define duckdb_get_type_id(...) GW_DDB_(duckdb_get_type_id)(__VA_ARGS__)
#define duckdb_init_get_bind_data(...) GW_DDB_(duckdb_init_get_bind_data)(__VA_ARGS__)
#define duckdb_init_get_extra_info(...) GW_DDB_(duckdb_init_get_extra_info)(__VA_ARGS__)
#define duckdb_init_set_error(...) GW_DDB_(duckdb_init_set_error)(__VA_ARGS__)
#define duckdb_init_set_init_data(...) GW_DDB_(duckdb_init_set_init_data)(__VA_ARGS__)
#define duckdb_init_set_max_threads(...) GW_DDB_(duckdb_init_set_max_threads)(__VA_ARGS__)
#define duckdb_interrupt(...) GW_DDB_(duckdb_interrupt)(__VA_ARGS__)
#define duckdb_library_version(...) GW_DDB_(duckdb_library_version)(__VA_ARGS__)
#define duckdb_nparams(...) GW_DDB_(duckdb_nparams)(__VA_ARGS__)
#define duckdb_open(...) GW_DDB_(duckdb_open)(__VA_ARGS__)
#define duckdb_open_ext(...) GW_DDB_(duckdb_open_ext)(__VA_ARGS__)
#define duckdb_pending_error(...) GW_DDB_(duckdb_pending_error)(__VA_ARGS__)
#define duckdb_pending_execute_task(...) GW_DDB_(duckdb_pending_execute_task)(__VA_ARGS__)
#define duckdb_pending_execution_is_finished(...) GW_DDB_(duckdb_pending_execution_is_finished)(__VA_ARGS__)
#define duckdb_pending_prepared(...) GW_DDB_(duckdb_pending_prepared)(__VA_ARGS__)
#define duckdb_pending_prepared_streaming(...) GW_DDB_(duckdb_pending_prepared_streaming)(__VA_ARGS__)
#define duckdb_prepare(...) GW_DDB_(duckdb_prepare)(__VA_ARGS__)
#define duckdb_prepare_error(...) GW_DDB_(duckdb_prepare_error)(__VA_ARGS__)
#define duckdb_prepare_extracted_statement(...) GW_DDB_(duckdb_prepare_extracted_statement)(__VA_ARGS__)
#define duckdb_prepared_statement_type(...) GW_DDB_(duckdb_prepared_statement_type)(__VA_ARGS__)
#define duckdb_query(...) GW_DDB_(duckdb_query)(__VA_ARGS__)
#define duckdb_register_table_function(...) GW_DDB_(duckdb_register_table_function)(__VA_ARGS__)
#define duckdb_result_error(...) GW_DDB_(duckdb_result_error)(__VA_ARGS__)
#define duckdb_result_error_type(...) GW_DDB_(duckdb_result_error_type)(__VA_ARGS__)
#define duckdb_rows_changed(...) GW_DDB_(duckdb_rows_changed)(__VA_ARGS__)
#define duckdb_set_config(...) GW_DDB_(duckdb_set_config)(__VA_ARGS__)
#define duckdb_string_t_data(...) GW_DDB_(duckdb_string_t_data)(__VA_ARGS__)
#define duckdb_string_t_length(...) GW_DDB_(duckdb_string_t_length)(__VA_ARGS__)
#define duckdb_table_function_add_parameter(...) GW_DDB_(duckdb_table_function_add_parameter)(__VA_ARGS__)
#define duckdb_table_function_set_bind(...) GW_DDB_(duckdb_table_function_set_bind)(__VA_ARGS__)
#define duckdb_table_function_set_extra_info(...) GW_DDB_(duckdb_table_function_set_extra_info)(__VA_ARGS__)
#define duckdb_table_function_set_function(...) GW_DDB_(duckdb_table_function_set_function)(__VA_ARGS__)
#define duckdb_table_function_set_init(...) GW_DDB_(duckdb_table_function_set_init)(__VA_ARGS__)
#define duckdb_table_function_set_local_init(...) GW_DDB_(duckdb_table_function_set_local_init)(__VA_ARGS__)
#define duckdb_table_function_set_name(...) GW_DDB_(duckdb_table_function_set_name)(__VA_ARGS__)
#define duckdb_validity_row_is_valid(...) GW_DDB_(duckdb_validity_row_is_valid)(__VA_ARGS__)
#define duckdb_value_int64(...) GW_DDB_(duckdb_value_int64)(__VA_ARGS__)
#define duckdb_vector_assign_string_element_len(...) GW_DDB_(duckdb_vector_assign_string_element_len)(__VA_ARGS__)
#define duckdb_vector_get_column_type(...) GW_DDB_(duckdb_vector_get_column_type)(__VA_ARGS__)
#define duckdb_vector_get_data(...) GW_DDB_(duckdb_vector_get_data)(__VA_ARGS__)
#define duckdb_vector_get_validity(...) GW_DDB_(duckdb_vector_get_validity)(__VA_ARGS__)
#define duckdb_vector_size(...) GW_DDB_(duckdb_vector_size)(__VA_ARGS__)

#endif
