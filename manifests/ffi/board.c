/*
 * ESP-IDF calls the Moddable SDK does not expose to JavaScript, bound through XS FFI (manifest "ffi";
 * documentation/xs/XS FFI.md): the task watchdog, the reset reason, restart, the hardware RNG, the
 * OTA slots and boot choice (the SDK's embedded:update has no confirm and erases the slot when it
 * opens; ESP-IDF OTA in docs/sources.md), SHA-256 (mbedtls, on the ESP32-S3's SHA accelerator) and raw
 * DEFLATE (the ROM's miniz inflater). Each function is a thin call with plain integer arguments and
 * buffers (a pointer to an ArrayBuffer's data, with an offset and a length beside it); errors come
 * back as esp_err_t values (0 = ESP_OK).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "esp_system.h"
#include "esp_random.h"
#include "esp_task_wdt.h"
#include "esp_ota_ops.h"
#include "esp_app_desc.h"
#include "esp_partition.h"
#include "esp_flash_partitions.h"
#include "bootloader_common.h"
#include "mbedtls/sha256.h"
#include "rom/miniz.h"
#include "driver/uart.h"

int32_t board_wdt_enable(uint32_t timeout_ms)
{
	esp_task_wdt_config_t config = {
		.timeout_ms = timeout_ms,
		.idle_core_mask = 0,
		.trigger_panic = true,
	};
	esp_err_t err = esp_task_wdt_reconfigure(&config);
	if (err == ESP_ERR_INVALID_STATE)
		err = esp_task_wdt_init(&config);
	if (err != ESP_OK)
		return err;
	err = esp_task_wdt_add(NULL);
	return err == ESP_ERR_INVALID_ARG ? ESP_OK : err; /* already subscribed */
}

int32_t board_wdt_feed(void)
{
	return esp_task_wdt_reset();
}

int32_t board_reset_reason(void)
{
	return (int32_t)esp_reset_reason();
}

void board_restart(void)
{
	esp_restart();
}

void board_fill_random(uint8_t *buffer, uint32_t offset, uint32_t length)
{
	esp_fill_random(buffer + offset, length);
}

/* 0: ota_0 running, 1: ota_1, -1: another partition (factory). */
int32_t board_ota_running_slot(void)
{
	const esp_partition_t *p = esp_ota_get_running_partition();
	if (!p || p->type != ESP_PARTITION_TYPE_APP)
		return -1;
	if (p->subtype == ESP_PARTITION_SUBTYPE_APP_OTA_0)
		return 0;
	if (p->subtype == ESP_PARTITION_SUBTYPE_APP_OTA_1)
		return 1;
	return -1;
}

static const esp_partition_t *ota_partition(int32_t which)
{
	return which == 0 ? esp_ota_get_running_partition() : esp_ota_get_next_update_partition(NULL);
}

/*
 * esp_ota_img_states_t of the running (which 0) or the next update (1) slot's boot-choice entry:
 * 0 new, 1 pending verify, 2 valid, 3 invalid, 4 aborted; -1 when no entry names the slot.
 */
int32_t board_ota_state(int32_t which)
{
	esp_ota_img_states_t state;
	const esp_partition_t *p = ota_partition(which);
	if (!p || esp_ota_get_state_partition(p, &state) != ESP_OK)
		return -1;
	return (int32_t)state;
}

/*
 * The application descriptor of the running (0) or the next (1) slot's image into out[offset..]:
 * secure_version (u32, little-endian), then version (32 bytes, NUL-terminated). esp_err_t.
 */
int32_t board_ota_describe(int32_t which, uint8_t *out, uint32_t offset)
{
	esp_app_desc_t desc;
	const esp_partition_t *p = ota_partition(which);
	esp_err_t err = p ? esp_ota_get_partition_description(p, &desc) : ESP_ERR_NOT_FOUND;
	if (err != ESP_OK)
		return err;
	memcpy(out + offset, &desc.secure_version, 4);
	memcpy(out + offset + 4, desc.version, 32);
	return ESP_OK;
}

/*
 * Takes the next update slot out of the boot choice: erases the otadata sector whose entry names it
 * (esp_ota_invalidate_inactive_ota_data_slot refuses when that entry is the newest, as after a
 * rollback). Nothing to do when no entry names it.
 */
int32_t board_ota_release(void)
{
	const esp_partition_t *otadata = esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA, NULL);
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
	if (!otadata || !next)
		return ESP_ERR_NOT_FOUND;
	uint32_t slot = next->subtype - ESP_PARTITION_SUBTYPE_APP_OTA_MIN;
	for (int sector = 0; sector < 2; sector++) {
		esp_ota_select_entry_t entry;
		esp_err_t err = esp_partition_read(otadata, sector * otadata->erase_size, &entry, sizeof(entry));
		if (err != ESP_OK)
			return err;
		if (entry.ota_seq == UINT32_MAX || entry.crc != bootloader_common_ota_select_crc(&entry) || (entry.ota_seq - 1) % 2 != slot)
			continue;
		err = esp_partition_erase_range(otadata, sector * otadata->erase_size, otadata->erase_size);
		if (err != ESP_OK)
			return err;
	}
	return ESP_OK;
}

/* Checks the image in the next update slot (esp_image_verify) and makes it boot next: esp_err_t. */
int32_t board_ota_select(void)
{
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
	return next ? esp_ota_set_boot_partition(next) : ESP_ERR_NOT_FOUND;
}

int32_t board_ota_confirm(void)
{
	return esp_ota_mark_app_valid_cancel_rollback();
}

int32_t board_ota_rollback(void)
{
	return esp_ota_mark_app_invalid_rollback_and_reboot();
}

/*
 * RTS/CTS on a UART that ECMA-419 serial has opened (serial.c configures flow_ctrl DISABLE and routes
 * only TX and RX): routes RTS and CTS and lets the hardware drop RTS at `rx_threshold` bytes in the RX
 * FIFO. Called after every open, since each open configures the UART afresh.
 */
int32_t board_uart_flow_control(uint32_t port, int32_t rts, int32_t cts, uint32_t rx_threshold)
{
	esp_err_t err = uart_set_pin((uart_port_t)port, UART_PIN_NO_CHANGE, UART_PIN_NO_CHANGE, rts, cts);
	if (err != ESP_OK)
		return err;
	return uart_set_hw_flow_ctrl((uart_port_t)port, UART_HW_FLOWCTRL_CTS_RTS, (uint8_t)rx_threshold);
}

/*
 * SHA-256 through mbedtls (the ESP32-S3's SHA accelerator): the context lives in a JavaScript
 * ArrayBuffer of BOARD_SHA256_CONTEXT_BYTES. It holds no pointers, so the XS heap may move it between
 * calls.
 */
#define BOARD_SHA256_CONTEXT_BYTES 256
_Static_assert(sizeof(mbedtls_sha256_context) <= BOARD_SHA256_CONTEXT_BYTES, "SHA-256 context too large");

int32_t board_sha256_start(uint8_t *context)
{
	mbedtls_sha256_init((mbedtls_sha256_context *)context);
	return mbedtls_sha256_starts((mbedtls_sha256_context *)context, 0);
}

int32_t board_sha256_update(uint8_t *context, uint8_t *data, uint32_t offset, uint32_t length)
{
	return mbedtls_sha256_update((mbedtls_sha256_context *)context, data + offset, length);
}

int32_t board_sha256_finish(uint8_t *context, uint8_t *digest)
{
	int32_t err = mbedtls_sha256_finish((mbedtls_sha256_context *)context, digest);
	mbedtls_sha256_free((mbedtls_sha256_context *)context);
	return err;
}

/*
 * Raw DEFLATE (no zlib header) from in[in_offset, +in_length) into out[out_offset, +out_length), with
 * the ROM's tinfl (rom/miniz.h). The decompressor (~11 KB) is on the heap, not the task stack. Returns
 * the bytes written, -1 for bad data or output that does not fit, -2 without memory.
 */
int32_t board_inflate_raw(uint8_t *in, uint32_t in_offset, uint32_t in_length, uint8_t *out, uint32_t out_offset, uint32_t out_length)
{
	tinfl_decompressor *d = malloc(sizeof(tinfl_decompressor));
	if (!d)
		return -2;
	tinfl_init(d);
	size_t in_bytes = in_length, out_bytes = out_length;
	tinfl_status status = tinfl_decompress(d, in + in_offset, &in_bytes, out + out_offset, out + out_offset, &out_bytes, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF);
	free(d);
	return status == TINFL_STATUS_DONE ? (int32_t)out_bytes : -1;
}
