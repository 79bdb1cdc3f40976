//! `x-request-id`: a client's sane id is kept, anything else is replaced by a generated UUID,
//! and the response carries the id. One layer, reading the header once: tower-http's pair of
//! layers (and the check in front of them) cost three layers' futures, two boxed extensions and
//! five header lookups on every request.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;
use tower::{Layer, Service};

use crate::telemetry::trace::headers::X_REQUEST_ID;

/// The longest client-sent `x-request-id` kept.
const MAX_REQUEST_ID: usize = 128;

/// Whether a client's `x-request-id` is kept: 1 to 128 bytes of letters, digits and `.` `_` `:`
/// `-`. It is logged and echoed, so a client may not put markup, separators or a megabyte there.
fn sane(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID
        && bytes
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
}

/// The id a request goes on with: its own when it sent exactly one sane id, else a new UUID,
/// which replaces whatever it sent.
fn request_id(request: &mut Request) -> HeaderValue {
    let headers = request.headers_mut();
    let mut sent = headers.get_all(X_REQUEST_ID).iter();
    if let (Some(id), None) = (sent.next(), sent.next())
        && sane(id)
    {
        return id.clone();
    }
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    // A hyphenated UUID is always a valid header value.
    let id = HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static("invalid-uuid"));
    headers.insert(X_REQUEST_ID, id.clone());
    id
}

/// Sets and echoes `x-request-id` (see the module).
#[derive(Clone, Copy)]
pub(super) struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> RequestIdService<S> {
        RequestIdService { inner }
    }
}

#[derive(Clone)]
pub(super) struct RequestIdService<S> {
    inner: S,
}

impl<S, B> Service<Request> for RequestIdService<S>
where
    S: Service<Request, Response = Response<B>>,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Echo<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Echo<S::Future> {
        let id = Some(request_id(&mut request));
        Echo {
            inner: self.inner.call(request),
            id,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future, which adds the id unless the response names one itself.
    pub(super) struct Echo<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, B, E> Future for Echo<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(id) = this.id.take() {
            response.headers_mut().entry(X_REQUEST_ID).or_insert(id);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    /// The id the inner service saw and the one the response carries, for a request sending
    /// `sent`; `answer_names` is an id the inner service puts on its response itself.
    async fn ids(sent: &[&str], answer_names: Option<&'static str>) -> (String, String) {
        let service = RequestIdLayer.layer(tower::service_fn(move |request: Request| async move {
            let seen: Vec<_> = request
                .headers()
                .get_all(X_REQUEST_ID)
                .iter()
                .cloned()
                .collect();
            assert_eq!(seen.len(), 1, "exactly one id goes on: {seen:?}");
            let mut response = Response::new(Body::from(seen[0].as_bytes().to_vec()));
            if let Some(own) = answer_names {
                response
                    .headers_mut()
                    .insert(X_REQUEST_ID, HeaderValue::from_static(own));
            }
            Ok::<_, Infallible>(response)
        }));
        let mut request = Request::new(Body::empty());
        for id in sent {
            request
                .headers_mut()
                .append(X_REQUEST_ID, HeaderValue::from_str(id).unwrap());
        }
        let response = service.oneshot(request).await.unwrap();
        let echoed = response.headers()[X_REQUEST_ID]
            .to_str()
            .unwrap()
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        (String::from_utf8(body.to_vec()).unwrap(), echoed)
    }

    fn is_uuid(id: &str) -> bool {
        uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4)
    }

    #[tokio::test]
    async fn a_sane_id_is_kept_and_echoed() {
        let longest = "a".repeat(MAX_REQUEST_ID);
        for id in ["client-chosen-id-42", "A.b_c:d-9", longest.as_str()] {
            assert_eq!(ids(&[id], None).await, (id.to_string(), id.to_string()));
        }
    }

    #[tokio::test]
    async fn none_two_or_an_insane_id_are_replaced_by_a_new_uuid() {
        let too_long = "a".repeat(MAX_REQUEST_ID + 1);
        for sent in [
            &[][..],
            &["one", "two"],
            &["<script>alert(1)</script>"],
            &["has space"],
            &[""],
            &[too_long.as_str()],
        ] {
            let (seen, echoed) = ids(sent, None).await;
            assert!(is_uuid(&seen), "{sent:?} -> {seen}");
            assert_eq!(echoed, seen);
        }
        let (first, _) = ids(&[], None).await;
        let (second, _) = ids(&[], None).await;
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn a_response_naming_its_own_id_keeps_it() {
        let (seen, echoed) = ids(&["from-client"], Some("from-server")).await;
        assert_eq!(
            (seen.as_str(), echoed.as_str()),
            ("from-client", "from-server")
        );
    }
}
