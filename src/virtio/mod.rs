// SPDX-License-Identifier: GPL-2.0-or-later
//! The virtio-i2c protocol: parse requests, group them, run each group as
//! one transfer, write statuses back.
//!
//! # Source
//! virtio 1.2, §5.16 "I2C Adapter Device" (device ID 34, one virtqueue
//! `requestq`, no configuration space).
//!
//! [`queue::RequestQueue`] is the device: a request enters it once
//! (`push`) and leaves it once (`complete`). On the way:
//! 1. [`request::parse`] reads the device-readable part (`struct
//!    virtio_i2c_out_hdr` and, for a write, the data) exactly once through
//!    [`vm_memory::VolatileSlice`]s and checks every device requirement; the
//!    request's data is copied into a bounce buffer.
//! 2. [`group::Grouper`] collects requests into groups: a group ends at the
//!    first request without `VIRTIO_I2C_FLAGS_FAIL_NEXT`, or at the end of a
//!    batch of available requests (a driver that waits for completions
//!    between batches, as Zephyr's does, must not wait forever).
//! 3. [`group::Executor`] validates the whole group (every request parsed,
//!    at most 42 messages, every address allowed by the
//!    [`Policy`](crate::policy::Policy)) and only then runs it as one
//!    transfer on the host adapter: inline, or on the queue's worker
//!    thread for adapters whose transfers may block.
//! 4. [`response::write`] writes the read data, then the status byte, into
//!    the device-writable part.
//!
//! Invariants: this layer makes no system call and knows no C type; no
//! Rust reference ever points into guest memory; every request gets a
//! status (or, when it has no device-writable byte at all, a used length of
//! 0); a group that fails validation never reaches the bus.

#![deny(unsafe_code)]

pub mod group;
pub mod queue;
mod record;
pub mod request;
pub mod response;
pub mod sg;

/// Feature bit 0: zero-length requests (mandatory for devices to offer).
pub const VIRTIO_I2C_F_ZERO_LENGTH_REQUEST: u64 = 1 << 0;
/// Feature bit 32: a virtio 1.x device.
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;
/// The feature bits this device offers.
pub const DEVICE_FEATURES: u64 = VIRTIO_I2C_F_ZERO_LENGTH_REQUEST | VIRTIO_F_VERSION_1;

/// Device-type feature bits: 0-23 and 50-63. Bits 24-49 belong to the
/// transport and the virtqueues (virtio 1.2 §6 "Reserved Feature Bits"),
/// which the transport (QEMU) offers and checks itself.
pub const DEVICE_TYPE_BITS: u64 = 0x00ff_ffff | !((1u64 << 50) - 1);

/// Request flag: fail the next request of the group if this one fails.
pub const VIRTIO_I2C_FLAGS_FAIL_NEXT: u32 = 1 << 0;
/// Request flag: a read request.
pub const VIRTIO_I2C_FLAGS_M_RD: u32 = 1 << 1;

/// Status: the request succeeded.
pub const VIRTIO_I2C_MSG_OK: u8 = 0;
/// Status: the request failed.
pub const VIRTIO_I2C_MSG_ERR: u8 = 1;

/// Size of `struct virtio_i2c_out_hdr` (`le16 addr; le16 padding; le32 flags`).
pub const OUT_HDR_LEN: usize = 8;

/// The protocol a driver speaks, from the features it accepted.
///
/// virtio-i2c was first merged (Linux 5.14) without
/// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST`: such a driver never sets
/// `VIRTIO_I2C_FLAGS_M_RD` (a message's direction is that of its buffer)
/// and never sends a zero-length message. The feature came with the spec's
/// final text (Linux 5.16): `M_RD` gives the direction, and zero-length
/// messages (SMBus Quick) are allowed. Zephyr's driver sets `M_RD` but
/// negotiates nothing; it is served as `Legacy`, where `M_RD`, when set,
/// must agree with the buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST` negotiated.
    Current,
    /// Not negotiated: the protocol as first merged.
    Legacy,
    /// The device refused the driver's features: every request it sends
    /// anyway fails (a legacy transport has no `FEATURES_OK` to refuse
    /// with, and a hostile driver may ignore the refusal).
    Refused,
}

impl Protocol {
    /// The protocol of a driver that accepted `features`.
    pub fn of(features: u64) -> Self {
        if features & VIRTIO_I2C_F_ZERO_LENGTH_REQUEST != 0 {
            Self::Current
        } else {
            Self::Legacy
        }
    }
}

/// Errors of feature negotiation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    /// The driver did not accept `VIRTIO_I2C_F_ZERO_LENGTH_REQUEST`, and
    /// the device requires it.
    #[error("the driver did not accept VIRTIO_I2C_F_ZERO_LENGTH_REQUEST (features {features:#x}), which require-zero-length=on requires")]
    ZeroLengthNotAccepted {
        /// The features the driver accepted.
        features: u64,
    },
    /// The driver accepted bits the device did not offer.
    #[error("the driver accepted features {extra:#x} that the device did not offer")]
    NotOffered {
        /// The extra bits.
        extra: u64,
    },
}

/// Checks the features a driver accepted. Only device-type bits are
/// judged ([`DEVICE_TYPE_BITS`]); transport bits such as
/// `VIRTIO_RING_F_INDIRECT_DESC` pass through.
///
/// "The device MUST offer VIRTIO_I2C_F_ZERO_LENGTH_REQUEST" and "MUST reject
/// any driver that does not negotiate it" (§5.16.3). The second rule holds
/// only with `require_zero_length`: by default a driver that predates the
/// bit (Linux 5.14 and 5.15, Zephyr) is accepted and served in the
/// protocol it speaks ([`Protocol::Legacy`]).
pub fn check_features(accepted: u64, require_zero_length: bool) -> Result<(), FeatureError> {
    let extra = accepted & DEVICE_TYPE_BITS & !DEVICE_FEATURES;
    if extra != 0 {
        return Err(FeatureError::NotOffered { extra });
    }
    if accepted & VIRTIO_I2C_F_ZERO_LENGTH_REQUEST == 0 && require_zero_length {
        return Err(FeatureError::ZeroLengthNotAccepted { features: accepted });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_refuses_a_driver_without_zero_length() {
        assert_eq!(check_features(DEVICE_FEATURES, true), Ok(()));
        assert_eq!(
            check_features(VIRTIO_F_VERSION_1, true),
            Err(FeatureError::ZeroLengthNotAccepted {
                features: VIRTIO_F_VERSION_1
            })
        );
        // By default such a driver is accepted, in the legacy protocol.
        assert_eq!(check_features(VIRTIO_F_VERSION_1, false), Ok(()));
        assert_eq!(Protocol::of(VIRTIO_F_VERSION_1), Protocol::Legacy);
        assert_eq!(Protocol::of(DEVICE_FEATURES), Protocol::Current);
        assert_eq!(
            check_features(DEVICE_FEATURES | 4, false),
            Err(FeatureError::NotOffered { extra: 4 })
        );
        assert_eq!(
            check_features(DEVICE_FEATURES | 1 << 60, true),
            Err(FeatureError::NotOffered { extra: 1 << 60 })
        );
        // Transport bits (INDIRECT_DESC 28, EVENT_IDX 29, ACCESS_PLATFORM 33)
        // are the transport's business.
        let transport = 1 << 28 | 1 << 29 | 1 << 33;
        assert_eq!(check_features(DEVICE_FEATURES | transport, true), Ok(()));
    }
}
