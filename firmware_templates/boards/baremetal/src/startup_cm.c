/* startup_cm.c - bare-metal start-up for Arm Cortex-M cores (C99 with GCC attributes).
 *
 * Vector table, Reset_Handler (copy .data, zero .bss, enable the FPU on cores that have
 * one, paint the stack, start SysTick), the newlib system calls the firmware needs
 * (_write to the console UART, _sbrk over the heap region) and the measurement helpers
 * of tm_cm.h. Memory layout: link.ld (code at 0x00000000, RAM at 0x20000000: the
 * mps2-an386 map QEMU emulates).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "tm_cm.h"

extern uint32_t __etext;
extern uint32_t __data_start__, __data_end__, __bss_start__, __bss_end__;
extern uint32_t __HeapBase, __HeapLimit, __StackLimit, __StackTop;

int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);

#define REG32(addr) (*(volatile uint32_t*)(addr))
#define SCB_CPACR 0xE000ED88u
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define SYST_RELOAD 0x00FFFFFFu

/* Device interrupts 0..31: a board's HAL defines the ones it uses (IRQ<n>_Handler). */
void IRQ0_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ1_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ2_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ3_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ4_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ5_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ6_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ7_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ8_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ9_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ10_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ11_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ12_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ13_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ14_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ15_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ16_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ17_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ18_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ19_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ20_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ21_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ22_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ23_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ24_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ25_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ26_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ27_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ28_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ29_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ30_Handler(void) __attribute__((weak, alias("Default_Handler")));
void IRQ31_Handler(void) __attribute__((weak, alias("Default_Handler")));

/* The core's 16 exception vectors, then 32 device interrupts. */
__attribute__((section(".isr_vector"), used)) void (*const g_vectors[16 + 32])(void) = {
    (void (*)(void))(uintptr_t)&__StackTop, /* initial stack pointer */
    Reset_Handler,
    Default_Handler,   /* NMI */
    HardFault_Handler, /* HardFault */
    HardFault_Handler, /* MemManage */
    HardFault_Handler, /* BusFault */
    HardFault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
    IRQ0_Handler,
    IRQ1_Handler,
    IRQ2_Handler,
    IRQ3_Handler,
    IRQ4_Handler,
    IRQ5_Handler,
    IRQ6_Handler,
    IRQ7_Handler,
    IRQ8_Handler,
    IRQ9_Handler,
    IRQ10_Handler,
    IRQ11_Handler,
    IRQ12_Handler,
    IRQ13_Handler,
    IRQ14_Handler,
    IRQ15_Handler,
    IRQ16_Handler,
    IRQ17_Handler,
    IRQ18_Handler,
    IRQ19_Handler,
    IRQ20_Handler,
    IRQ21_Handler,
    IRQ22_Handler,
    IRQ23_Handler,
    IRQ24_Handler,
    IRQ25_Handler,
    IRQ26_Handler,
    IRQ27_Handler,
    IRQ28_Handler,
    IRQ29_Handler,
    IRQ30_Handler,
    IRQ31_Handler,
};

static volatile uint32_t g_systick_wraps;
static uint32_t g_stack_max;
static char* g_heap_end;
static uint32_t g_heap_max;

void SysTick_Handler(void) { g_systick_wraps++; }

uint64_t tm_cm_ticks(void) {
  uint32_t wraps, value;
  do {
    wraps = g_systick_wraps;
    value = REG32(SYST_CVR);
    /* a wrap between the two reads: the interrupt is pending until the handler runs */
  } while (wraps != g_systick_wraps || (REG32(SYST_CSR) & (1u << 16)) != 0u);
  return (uint64_t)wraps * (uint64_t)(SYST_RELOAD + 1u) + (uint64_t)(SYST_RELOAD - value);
}

static uint32_t current_sp(void) {
  uint32_t sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

static void paint_below(uint32_t top) {
  uint32_t* p = &__StackLimit;
  while ((uint32_t)(uintptr_t)p < top) *p++ = TM_CM_STACK_PAINT;
}

void tm_cm_stack_note(void) {
  const uint32_t* p = &__StackLimit;
  uint32_t used;
  while (p < &__StackTop && *p == TM_CM_STACK_PAINT) ++p;
  used = (uint32_t)((uintptr_t)&__StackTop - (uintptr_t)p);
  if (used > g_stack_max) g_stack_max = used;
}

void tm_cm_stack_repaint(void) { paint_below(current_sp() - 16u); }
uint32_t tm_cm_stack_max(void) { return g_stack_max; }
uint32_t tm_cm_stack_size(void) { return (uint32_t)((uintptr_t)&__StackTop - (uintptr_t)&__StackLimit); }
uint32_t tm_cm_heap_max(void) { return g_heap_max; }

void tm_cm_exit(int status) {
#if defined(TM_CM_SEMIHOSTING)
  /* SYS_EXIT_EXTENDED (0x20): {ADP_Stopped_ApplicationExit, status} */
  volatile uint32_t block[2];
  register uint32_t r0 __asm__("r0") = 0x20u;
  register volatile uint32_t* r1 __asm__("r1") = block;
  block[0] = 0x20026u;
  block[1] = (uint32_t)status;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
#else
  (void)status;
#endif
  for (;;) {
  }
}

void Reset_Handler(void) {
  const uint32_t* src = &__etext;
  uint32_t* dst = &__data_start__;
  while (dst < &__data_end__) *dst++ = *src++;
  for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0u;
#if defined(__ARM_FP)
  /* full access to CP10/CP11 before the first floating-point instruction */
  REG32(SCB_CPACR) |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  paint_below(current_sp() - 64u);
  g_heap_end = (char*)&__HeapBase;
  REG32(SYST_RVR) = SYST_RELOAD;
  REG32(SYST_CVR) = 0u;
  REG32(SYST_CSR) = 7u; /* processor clock, interrupt, enable */
  while (REG32(SYST_CVR) == 0u) {
  } /* the first reload */
  tm_cm_exit(main());
}

void HardFault_Handler(void) {
  static const char msg[] = "\n# tm_cm: HardFault\n";
  tm_cm_console_write(msg, (int)sizeof(msg) - 1);
  tm_cm_exit(99);
}

void Default_Handler(void) {
  static const char msg[] = "\n# tm_cm: unexpected exception\n";
  tm_cm_console_write(msg, (int)sizeof(msg) - 1);
  tm_cm_exit(98);
}

/* -- newlib system calls ------------------------------------------------------------- */

int _write(int fd, const char* buf, int n);
int _read(int fd, char* buf, int n);
int _close(int fd);
int _fstat(int fd, struct stat* st);
int _isatty(int fd);
int _lseek(int fd, int offset, int whence);
void* _sbrk(ptrdiff_t incr);
int _kill(int pid, int sig);
int _getpid(void);
void _exit(int status);

int _write(int fd, const char* buf, int n) {
  (void)fd;
  tm_cm_console_write(buf, n);
  return n;
}
int _read(int fd, char* buf, int n) {
  (void)fd;
  (void)buf;
  (void)n;
  return 0;
}
int _close(int fd) {
  (void)fd;
  return -1;
}
int _fstat(int fd, struct stat* st) {
  (void)fd;
  st->st_mode = S_IFCHR;
  return 0;
}
int _isatty(int fd) {
  (void)fd;
  return 1;
}
int _lseek(int fd, int offset, int whence) {
  (void)fd;
  (void)offset;
  (void)whence;
  return 0;
}
void* _sbrk(ptrdiff_t incr) {
  char* prev = g_heap_end;
  if (g_heap_end + incr > (char*)&__HeapLimit || g_heap_end + incr < (char*)&__HeapBase) {
    errno = ENOMEM;
    return (void*)-1;
  }
  g_heap_end += incr;
  if ((uint32_t)(g_heap_end - (char*)&__HeapBase) > g_heap_max) {
    g_heap_max = (uint32_t)(g_heap_end - (char*)&__HeapBase);
  }
  return prev;
}
int _kill(int pid, int sig) {
  (void)pid;
  (void)sig;
  errno = EINVAL;
  return -1;
}
int _getpid(void) { return 1; }
void _exit(int status) { tm_cm_exit(status); }
