/*
 * ESP-IDF calls the Moddable SDK does not expose to JavaScript, bound through XS FFI (manifest "ffi";
 * documentation/xs/XS FFI.md): the task watchdog, the reset reason, restart, the hardware RNG and the
 * OTA boot confirmation / rollback (the SDK's embedded:update has no confirm; ESP-IDF OTA in docs/sources.md), and the
 * service console on USB-Serial-JTAG. Each function is a thin call with
 * plain integer arguments; errors come back as esp_err_t values (0 = ESP_OK).
 */
#include <stdint.h>
#include "esp_system.h"
#include "esp_random.h"
#include "esp_task_wdt.h"
#include "esp_ota_ops.h"
#include "driver/uart.h"
#include "driver/usb_serial_jtag.h"

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

/* esp_ota_img_states_t of the running image: 0 new, 1 pending verify, 2 valid, 3 invalid, 4 aborted, -1 unknown. */
int32_t board_ota_running_state(void)
{
	esp_ota_img_states_t state;
	if (esp_ota_get_state_partition(esp_ota_get_running_partition(), &state) != ESP_OK)
		return -1;
	return (int32_t)state;
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
