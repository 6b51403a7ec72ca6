#ifndef KESTREL_ARCH_X86_LAYOUT_H
#define KESTREL_ARCH_X86_LAYOUT_H

/*
 * Where kestrel puts things in guest physical memory and I/O space.
 * One table, so the boot loaders, the vCPU setup and the device models agree.
 */

/* Low memory (below 1 MiB). */
#define LAYOUT_GDT_GPA            0x00000500ull  /* boot GDT, 4 entries */
#define LAYOUT_PVH_START_INFO_GPA 0x00006000ull  /* struct hvm_start_info + module list */
#define LAYOUT_PVH_MEMMAP_GPA     0x00006800ull  /* struct hvm_memmap_table_entry[] */
#define LAYOUT_ZERO_PAGE_GPA      0x00007000ull  /* struct boot_params */
#define LAYOUT_BOOT_STACK_TOP     0x00008ff0ull
#define LAYOUT_PML4_GPA           0x00009000ull  /* identity map of the first 4 GiB, 2 MiB pages */
#define LAYOUT_PDPT_GPA           0x0000a000ull
#define LAYOUT_PD_GPA             0x0000b000ull  /* 4 pages: 0xb000..0xefff */
#define LAYOUT_CMDLINE_GPA        0x00020000ull
#define LAYOUT_CMDLINE_MAX        0x00010000ull  /* room reserved; the kernel's cmdline_size is the real limit */
#define LAYOUT_EBDA_START         0x0009fc00ull  /* end of usable low RAM in the e820 map */
#define LAYOUT_ACPI_START         0x000e0000ull  /* RSDP first (the guest scans here), then the tables */
#define LAYOUT_ACPI_END           0x00100000ull

/* The kernel proper. bzImage: at its pref_address if it has one, else here. */
#define LAYOUT_KERNEL_DEFAULT_GPA 0x00100000ull

/*
 * PCI. The 32-bit MMIO window fills the hole from the end of low RAM
 * (GUEST_MMIO_HOLE_START) to the ECAM; the ECAM covers bus 0 only (32 devices
 * x 8 functions x 4 KiB) and is reserved in the e820 map. The 64-bit window
 * starts at the first GiB boundary at or above both 4 GiB and the end of RAM
 * (layout_pci_mmio64_start), so its place depends on --memory.
 */
#define LAYOUT_PCI_MMIO32_START       0xc0000000ull
#define LAYOUT_PCI_MMIO32_SIZE        0x20000000ull
#define LAYOUT_PCI_ECAM_START         0xe0000000ull
#define LAYOUT_PCI_ECAM_SIZE          0x00100000ull
#define LAYOUT_PCI_ECAM_LAST_BUS      0
#define LAYOUT_PCI_MMIO64_ALIGNMENT   0x40000000ull
#define LAYOUT_PCI_MMIO64_SIZE        0x800000000ull /* 32 GiB */
#define LAYOUT_PCI_CONFIG_ADDRESS_PORT 0xcf8
#define LAYOUT_PCI_CONFIG_DATA_PORT    0xcfc

static inline unsigned long long layout_pci_mmio64_start(unsigned long long ram_end)
{
    unsigned long long start = ram_end > 0x100000000ull ? ram_end : 0x100000000ull;
    return (start + LAYOUT_PCI_MMIO64_ALIGNMENT - 1) & ~(LAYOUT_PCI_MMIO64_ALIGNMENT - 1);
}

/* Platform MMIO in the 32-bit hole. */
#define LAYOUT_IOAPIC_GPA         0xfec00000ull
#define LAYOUT_LAPIC_GPA          0xfee00000ull

/* ACPI fixed hardware in I/O space (PM1a event and control blocks). */
#define LAYOUT_ACPI_PM1A_EVENT_PORT   0x600
#define LAYOUT_ACPI_PM1A_EVENT_LEN    4
#define LAYOUT_ACPI_PM1A_CONTROL_PORT 0x604
#define LAYOUT_ACPI_PM1A_CONTROL_LEN  2
#define LAYOUT_ACPI_SCI_IRQ           9
/* SLP_TYP value the DSDT's \_S5 object announces; PM1a control SLP_EN with it = power off. */
#define LAYOUT_ACPI_S5_SLEEP_TYPE     5

/* Legacy devices. */
#define LAYOUT_COM1_PORT          0x3f8
#define LAYOUT_COM1_IRQ           4
#define LAYOUT_I8042_DATA_PORT    0x60
#define LAYOUT_I8042_COMMAND_PORT 0x64
#define LAYOUT_RTC_PORT           0x70           /* index 0x70, data 0x71 */
#define LAYOUT_RTC_IRQ            8
/* pvpanic (ACPI _HID QEMU0001): the guest writes 1 here when its kernel panics. */
#define LAYOUT_PVPANIC_PORT       0x505

#endif
