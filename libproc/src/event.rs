//! What a process's mailbox carries, mirroring libprocess's `event.hpp`.

use std::any::Any;
use std::borrow::Cow;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::codec::{self, CodecError};
use crate::context::Context;
use crate::http::{Request, Response};
use crate::message::Message;
use crate::pid::Pid;
use crate::process::Process;

/// A message body: still encoded when it came over the network, the value itself when
/// it was sent by a process in this runtime (local sends skip serialization).
pub(crate) enum Body {
    Encoded(Bytes),
    Local(Box<dyn LocalMessage>),
}

/// A message value travelling between two processes of this runtime.
pub(crate) trait LocalMessage: Send {
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
    /// The message's encoding, for test filters that hand a copy to the test.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    fn encode(&self) -> Result<Vec<u8>, CodecError>;
}

impl<M: Message> LocalMessage for M {
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }

    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode(M::NAME, self)
    }
}

impl Body {
    /// Turns the body into the message type its handler expects.
    pub(crate) fn into_message<M: Message>(self) -> Result<M, CodecError> {
        match self {
            Body::Encoded(bytes) => codec::decode(M::NAME, &bytes),
            Body::Local(local) => local
                .into_any()
                .downcast::<M>()
                .map(|boxed| *boxed)
                .map_err(|_| CodecError {
                    name: M::NAME.to_owned(),
                    action: "decoded",
                    reason: "a local message of another type has this name".to_owned(),
                }),
        }
    }

    /// The body's bytes, encoding a local value if needed.
    #[cfg(feature = "testing")]
    pub(crate) fn to_bytes(&self) -> Option<Bytes> {
        match self {
            Body::Encoded(bytes) => Some(bytes.clone()),
            Body::Local(local) => local.encode().ok().map(Bytes::from),
        }
    }
}

/// An HTTP request routed to a process, with the channel for its response.
pub(crate) struct HttpEvent {
    pub(crate) request: Request,
    pub(crate) reply: oneshot::Sender<Response>,
}

/// An event that any runtime component can deliver without knowing the process type.
pub(crate) enum Raw {
    Message {
        from: Pid,
        name: Cow<'static, str>,
        body: Body,
    },
    Http(Box<HttpEvent>),
    Exited(Pid),
}

/// A closure run inside a process, between its other events.
pub(crate) type DispatchFn<P> = Box<dyn FnOnce(&mut P, &mut Context<P>) + Send>;

/// One event in the mailbox of a process of type `P`.
pub(crate) enum Event<P: Process> {
    Raw(Raw),
    Dispatch(DispatchFn<P>),
    /// Wakes the process so that it sees its terminate flag.
    Terminate,
}
