/*
 * ESP-IDF calls the Moddable SDK does not expose to JavaScript, bound through XS FFI (manifest "ffi";
 * documentation/xs/XS FFI.md): the task watchdog, the reset reason, restart, the hardware RNG, the
 * OTA slots and boot choice (the SDK's embedded:update has no confirm and erases the slot when it
 * opens; ESP-IDF OTA in docs/sources.md), the service console on USB-Serial-JTAG, AES-GCM for DLMS
 * meters and SHA-256 for OTA images (PSA Crypto, the crypto interface of ESP-IDF v6.0's Mbed TLS 4,
 * whose drivers use the chip's accelerators), and raw DEFLATE (the ROM's miniz inflater). Each function
 * is a thin call with plain integer arguments and buffers (a pointer to an ArrayBuffer's data, with an
 * offset and a length beside it); errors come back as esp_err_t values (0 = ESP_OK).
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
#include "rom/miniz.h"
#include "driver/uart.h"
#include "driver/usb_serial_jtag.h"
#include "psa/crypto.h"

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
 * The service console on USB-Serial-JTAG (the board's USB-C connector; docs/console.md "Which port").
 * In a debug build (mxDebug) the debugger owns it: xsbug's protocol runs there, so the console may not
 * open it (-1). Otherwise the driver is installed once; reads and writes never block (0 ticks) and
 * return how many bytes moved.
 */
int32_t board_console_open(void)
{
#ifdef mxDebug
	return -1;
#else
	if (usb_serial_jtag_is_driver_installed())
		return 0;
	usb_serial_jtag_driver_config_t config = USB_SERIAL_JTAG_DRIVER_CONFIG_DEFAULT();
	return usb_serial_jtag_driver_install(&config);
#endif
}

int32_t board_console_read(uint8_t *buffer, uint32_t offset, uint32_t length)
{
	return usb_serial_jtag_read_bytes(buffer + offset, length, 0);
}

int32_t board_console_write(uint8_t *buffer, uint32_t offset, uint32_t length)
{
	return usb_serial_jtag_write_bytes(buffer + offset, length, 0);
}

static int board_psa_ready(void)
{
	static int ready = 0;
	if (!ready)
		ready = psa_crypto_init() == PSA_SUCCESS;
	return ready;
}

/*
 * AES-128-GCM of DLMS security suite 0 through PSA Crypto, the crypto interface of ESP-IDF v6.0
 * (Mbed TLS 4), whose drivers use the chip's AES accelerator. Encrypting, `output` receives the
 * ciphertext then the tag (inputLength + tagLength bytes); decrypting, `input` is ciphertext then tag.
 * Returns the output's length, -1 when the tag does not authenticate, -2 on any other failure.
 */
int32_t board_aes_gcm(int32_t encrypt, uint8_t *key, uint8_t *iv, uint8_t *aad, uint32_t aadLength, uint8_t *input, uint32_t inputLength, uint8_t *output, uint32_t outputLength, uint32_t tagLength)
{
	if (!board_psa_ready() || tagLength < 12 || tagLength > 16)
		return -2;
	psa_algorithm_t alg = PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_GCM, tagLength);
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	psa_set_key_type(&attributes, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&attributes, 128);
	psa_set_key_usage_flags(&attributes, encrypt ? PSA_KEY_USAGE_ENCRYPT : PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&attributes, alg);
	psa_key_id_t id;
	if (psa_import_key(&attributes, key, 16, &id) != PSA_SUCCESS)
		return -2;
	size_t length = 0;
	psa_status_t status = encrypt
		? psa_aead_encrypt(id, alg, iv, 12, aad, aadLength, input, inputLength, output, outputLength, &length)
		: psa_aead_decrypt(id, alg, iv, 12, aad, aadLength, input, inputLength, output, outputLength, &length);
	psa_destroy_key(id);
	if (status == PSA_ERROR_INVALID_SIGNATURE)
		return -1;
	return status == PSA_SUCCESS ? (int32_t)length : -2;
}

/*
 * SHA-256 through PSA Crypto (the ESP32-S3's SHA accelerator). The operation lives in a JavaScript
 * ArrayBuffer of BOARD_SHA256_CONTEXT_BYTES between calls; the XS heap may move that buffer, so each
 * call works on an aligned copy in static memory and writes it back (a hash operation holds its state
 * by value, no pointer into itself).
 */
#define BOARD_SHA256_CONTEXT_BYTES 256
_Static_assert(sizeof(psa_hash_operation_t) <= BOARD_SHA256_CONTEXT_BYTES, "SHA-256 context too large");

static psa_hash_operation_t board_sha256_operation;

int32_t board_sha256_start(uint8_t *context)
{
	if (!board_psa_ready())
		return -2;
	board_sha256_operation = psa_hash_operation_init();
	psa_status_t status = psa_hash_setup(&board_sha256_operation, PSA_ALG_SHA_256);
	memcpy(context, &board_sha256_operation, sizeof(board_sha256_operation));
	return status;
}

int32_t board_sha256_update(uint8_t *context, uint8_t *data, uint32_t offset, uint32_t length)
{
	memcpy(&board_sha256_operation, context, sizeof(board_sha256_operation));
	psa_status_t status = psa_hash_update(&board_sha256_operation, data + offset, length);
	if (status != PSA_SUCCESS)
		psa_hash_abort(&board_sha256_operation);
	memcpy(context, &board_sha256_operation, sizeof(board_sha256_operation));
	return status;
}

int32_t board_sha256_finish(uint8_t *context, uint8_t *digest)
{
	memcpy(&board_sha256_operation, context, sizeof(board_sha256_operation));
	size_t length = 0;
	psa_status_t status = psa_hash_finish(&board_sha256_operation, digest, 32, &length);
	if (status != PSA_SUCCESS)
		psa_hash_abort(&board_sha256_operation);
	memcpy(context, &board_sha256_operation, sizeof(board_sha256_operation));
	return status == PSA_SUCCESS && length == 32 ? 0 : -2;
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
