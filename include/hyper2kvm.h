/**
 * @file hyper2kvm.h
 * @brief migrate VMware, Hyper-V and Azure virtual machines to KVM.
 * The umbrella header: includes every public area of the library.
 */
#ifndef HYPER2KVM_H
#define HYPER2KVM_H

#include "hyper2kvm/h2k_common.h"
#include "hyper2kvm/h2k_spec.h"
#include "hyper2kvm/h2k_disk.h"
#include "hyper2kvm/h2k_guest.h"
#include "hyper2kvm/h2k_fix.h"
#include "hyper2kvm/h2k_vmware.h"
#include "hyper2kvm/h2k_azure.h"
#include "hyper2kvm/h2k_test.h"
#include "hyper2kvm/h2k_output.h"
#include "hyper2kvm/h2k_orchestrator.h"

#endif /* HYPER2KVM_H */
