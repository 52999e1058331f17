//! What an admin endpoint is made of: a [`Route`] (method, path pattern, summary, the input
//! it reads, the view it answers, the handler) and the typed extractors a handler names in
//! its signature ([`Path`], [`Query`], [`Json`], [`OptionalJson`], [`Lenient`]). The handler's
//! signature is the single statement of its input and view: the route reads their
//! descriptions from the types, for `GET /admin` and the docs check.

use std::any::type_name;
use std::future::Future;
use std::pin::Pin;

use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::failure::Failure;
use super::shape::field_names;
use crate::http;
use crate::state::AppState;

/// A boxed future borrowing the state, as the awaiting handlers return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an awaiting or streamed handler returns.
pub type ReplyFuture<'a, V> = BoxFuture<'a, Result<Reply<V>, Failure>>;

/// What a handler answers on success: a status and a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<V> {
    /// 200, or 201 for what was created.
    pub status: StatusCode,
    /// The answer's body.
    pub view: V,
}

impl<V> Reply<V> {
    /// 200 with `view`.
    pub fn ok(view: V) -> Reply<V> {
        Reply {
            status: StatusCode::OK,
            view,
        }
    }

    /// 201 with `view`.
    pub fn created(view: V) -> Reply<V> {
        Reply {
            status: StatusCode::CREATED,
            view,
        }
    }
}

impl<V: View> Reply<V> {
    fn into_answer(self) -> Result<Answer, Failure> {
        Ok((self.status, self.view.into_payload()?))
    }
}

/// What a view becomes on the wire.
pub trait View {
    /// The answer's body.
    fn into_payload(self) -> Result<Payload, Failure>;
}

impl<V: Serialize> View for V {
    /// JSON, through [`Value`], whose objects keep their keys sorted: every answer lists its
    /// fields alphabetically, as it always has.
    fn into_payload(self) -> Result<Payload, Failure> {
        serde_json::to_value(&self)
            .map(Payload::Json)
            .map_err(|e| Failure::internal(format!("could not write the answer: {e}")))
    }
}

/// A view that is a document in a format of its own (a TOML scenario), sent as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// The text.
    pub text: String,
}

impl View for Document {
    fn into_payload(self) -> Result<Payload, Failure> {
        Ok(Payload::Text(self))
    }
}

/// An answer's body.
#[derive(Debug)]
pub enum Payload {
    /// A JSON value.
    Json(Value),
    /// A document.
    Text(Document),
    /// A stream of server-sent events.
    Stream(http::Body),
}

/// A reply as it goes out.
pub type Answer = (StatusCode, Payload);

/// The parts of a request the extractors read.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    /// Path parameters, by the name their pattern gives them (raw, not percent-decoded).
    pub params: &'a [(&'static str, &'a str)],
    /// The query string (without `?`).
    pub query: &'a str,
    /// The whole body.
    pub body: &'a [u8],
}

impl<'a> Raw<'a> {
    /// The parts of one request.
    pub fn new(params: &'a [(&'static str, &'a str)], query: &'a str, body: &'a [u8]) -> Raw<'a> {
        Raw {
            params,
            query,
            body,
        }
    }
}

/// How an endpoint's body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// A JSON object; a blank body reads as every field's default.
    OptionalJson,
    /// A JSON object, required.
    Json,
    /// One JSON object a line, streamed.
    Ndjson,
}

/// The body an endpoint reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BodyDoc {
    /// How it is read.
    pub format: BodyFormat,
    /// The request types read from it, without module paths (of each line, for NDJSON).
    pub types: Vec<String>,
    /// The fields they take.
    pub fields: Vec<&'static str>,
}

/// What an endpoint reads besides its path: query parameters and body fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InputDoc {
    /// Path parameters, in the order the handler's [`Path`] type names them.
    #[serde(skip)]
    pub path: Vec<&'static str>,
    /// Query parameters.
    pub query: Vec<&'static str>,
    /// The body, if it reads one.
    pub body: Option<BodyDoc>,
}

impl InputDoc {
    /// Adds a request type `T` read from the body.
    fn add_body<T: DeserializeOwned>(&mut self, format: BodyFormat) {
        let body = self.body.get_or_insert(BodyDoc {
            format,
            types: Vec::new(),
            fields: Vec::new(),
        });
        // A required part makes the whole body required.
        body.format = body.format.max(format);
        body.types.push(short_type_name(type_name::<T>()));
        body.fields.extend(field_names::<T>());
    }
}

/// A handler's input: one extractor, or a tuple of them read from the same request.
pub trait Input: Sized {
    /// Reads it, or says why the request is refused (400).
    fn read(raw: &Raw<'_>) -> Result<Self, Failure>;
    /// Adds what it reads to `doc`.
    fn describe(doc: &mut InputDoc);
}

impl Input for () {
    fn read(_raw: &Raw<'_>) -> Result<Self, Failure> {
        Ok(())
    }

    fn describe(_doc: &mut InputDoc) {}
}

macro_rules! tuple_input {
    ($($part:ident),+) => {
        impl<$($part: Input),+> Input for ($($part,)+) {
            fn read(raw: &Raw<'_>) -> Result<Self, Failure> {
                Ok(($($part::read(raw)?,)+))
            }

            fn describe(doc: &mut InputDoc) {
                $($part::describe(doc);)+
            }
        }
    };
}

tuple_input!(A, B);
tuple_input!(A, B, C);
tuple_input!(A, B, C, D);

/// A struct of strings from name-value pairs (path parameters, query parameters); the first
/// of repeated names wins. `part` names what is read, for the 400.
fn from_strings<T: DeserializeOwned>(
    pairs: impl IntoIterator<Item = (String, String)>,
    part: &str,
) -> Result<T, Failure> {
    let mut object = Map::new();
    for (name, value) in pairs {
        object.entry(name).or_insert(Value::String(value));
    }
    serde_json::from_value(Value::Object(object))
        .map_err(|e| Failure::bad_request(format!("invalid {part}: {e}")))
}

/// The path parameters, as a struct whose fields are the pattern's `{names}` (strings).
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned> Input for Path<T> {
    fn read(raw: &Raw<'_>) -> Result<Self, Failure> {
        let params = raw
            .params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()));
        from_strings(params, "path").map(Path)
    }

    fn describe(doc: &mut InputDoc) {
        doc.path.extend(field_names::<T>());
    }
}

/// The query parameters, percent-decoded, as a struct of optional strings (a parameter that
/// does not parse is the handler's to judge, as it always was).
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> Input for Query<T> {
    fn read(raw: &Raw<'_>) -> Result<Self, Failure> {
        let pairs = form_urlencoded::parse(raw.query.as_bytes()).into_owned();
        from_strings(pairs, "query").map(Query)
    }

    fn describe(doc: &mut InputDoc) {
        doc.query.extend(field_names::<T>());
    }
}

/// A JSON body, required (400 if absent or invalid).
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> Input for Json<T> {
    fn read(raw: &Raw<'_>) -> Result<Self, Failure> {
        let mut reader = serde_json::Deserializer::from_slice(raw.body);
        let value = serde_path_to_error::deserialize(&mut reader)
            .map_err(|e| Failure::invalid_json_at(&e))?;
        reader.end().map_err(|e| Failure::invalid_json(&e))?;
        Ok(Json(value))
    }

    fn describe(doc: &mut InputDoc) {
        doc.add_body::<T>(BodyFormat::Json);
    }
}

/// A JSON body that may be left out: a blank body reads as `T::default()`, anything else
/// must be valid.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default> Input for OptionalJson<T> {
    fn read(raw: &Raw<'_>) -> Result<Self, Failure> {
        if raw.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        Json::read(raw).map(|Json(value)| OptionalJson(value))
    }

    fn describe(doc: &mut InputDoc) {
        doc.add_body::<T>(BodyFormat::OptionalJson);
    }
}

/// Fields read from the body only if it parses as `T`; any other body (blank, another
/// shape, a wrong type) reads as `T::default()`. For flags that ride along with an
/// endpoint's own body, such as WeChat's `"sandbox": true`.
#[derive(Debug, Clone)]
pub struct Lenient<T>(pub T);

impl<T: DeserializeOwned + Default> Input for Lenient<T> {
    fn read(raw: &Raw<'_>) -> Result<Self, Failure> {
        Ok(Lenient(
            serde_json::from_slice(raw.body).unwrap_or_default(),
        ))
    }

    fn describe(doc: &mut InputDoc) {
        doc.add_body::<T>(BodyFormat::OptionalJson);
    }
}

type SyncHandler = Box<dyn Fn(&AppState, &Raw<'_>) -> Result<Answer, Failure> + Send + Sync>;
type AwaitingHandler = Box<
    dyn for<'a> Fn(&'a AppState, &Raw<'_>) -> BoxFuture<'a, Result<Answer, Failure>> + Send + Sync,
>;
type StreamedHandler = Box<
    dyn for<'a> Fn(Incoming, &'a AppState) -> BoxFuture<'a, Result<Answer, Failure>> + Send + Sync,
>;

enum Handler {
    /// Works under the state's locks and returns. After a call with any method but GET, the
    /// ledgers' new events are queued in the outbox and the delivery engine is woken; the
    /// answer waits for no delivery (a slow receiver must not hold up the admin API).
    Sync(SyncHandler),
    /// Awaits the notification engine itself (clock advance, notifications).
    Awaiting(AwaitingHandler),
    /// Reads the body as a stream instead of a whole buffer.
    Streamed(StreamedHandler),
}

/// One admin endpoint.
pub struct Route {
    method: Method,
    path: &'static str,
    segments: Vec<Segment>,
    summary: &'static str,
    input: InputDoc,
    view_type: &'static str,
    view: String,
    handler: Handler,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(&'static str),
    Param(&'static str),
}

/// `/admin/wechat/refunds/{refund_id}/status` as segments; slashes at either end are ignored.
fn segments(path: &'static str) -> Vec<Segment> {
    path.trim_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name),
                None => Segment::Literal(s),
            },
        )
        .collect()
}

impl Route {
    fn new(
        method: Method,
        path: &'static str,
        summary: &'static str,
        input: InputDoc,
        view_type: &'static str,
        handler: Handler,
    ) -> Route {
        Route {
            segments: segments(path),
            method,
            path,
            summary,
            input,
            view_type,
            view: short_type_name(view_type),
            handler,
        }
    }

    /// An endpoint whose handler works synchronously (see [`Handler::Sync`]).
    pub fn sync<I, V>(
        method: Method,
        path: &'static str,
        summary: &'static str,
        handler: fn(&AppState, I) -> Result<Reply<V>, Failure>,
    ) -> Route
    where
        I: Input + 'static,
        V: View + 'static,
    {
        let run = sync_handler(move |state, raw| {
            let input = I::read(raw)?;
            handler(state, input)?.into_answer()
        });
        Route::new(
            method,
            path,
            summary,
            describe::<I>(),
            type_name::<V>(),
            Handler::Sync(run),
        )
    }

    /// An endpoint whose handler awaits the notification engine.
    pub fn awaiting<I, V>(
        method: Method,
        path: &'static str,
        summary: &'static str,
        handler: for<'a> fn(&'a AppState, I) -> ReplyFuture<'a, V>,
    ) -> Route
    where
        I: Input + 'static,
        V: View + 'static,
    {
        let run = awaiting_handler(move |state, raw| match I::read(raw) {
            Ok(input) => {
                let reply = handler(state, input);
                Box::pin(async move { reply.await?.into_answer() })
            }
            Err(failure) => Box::pin(std::future::ready(Err(failure))),
        });
        Route::new(
            method,
            path,
            summary,
            describe::<I>(),
            type_name::<V>(),
            Handler::Awaiting(run),
        )
    }

    /// An endpoint that streams its body: NDJSON, each line a `Line`.
    pub fn streamed<Line, V>(
        method: Method,
        path: &'static str,
        summary: &'static str,
        handler: for<'a> fn(Incoming, &'a AppState) -> ReplyFuture<'a, V>,
    ) -> Route
    where
        Line: DeserializeOwned,
        V: View + 'static,
    {
        let run = streamed_handler(move |body, state| {
            let reply = handler(body, state);
            Box::pin(async move { reply.await?.into_answer() })
        });
        let mut input = InputDoc::default();
        input.add_body::<Line>(BodyFormat::Ndjson);
        Route::new(
            method,
            path,
            summary,
            input,
            type_name::<V>(),
            Handler::Streamed(run),
        )
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path pattern: `{name}` segments are parameters.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// One line on what it does.
    pub fn summary(&self) -> &'static str {
        self.summary
    }

    /// The query parameters and body fields it reads.
    pub fn input(&self) -> &InputDoc {
        &self.input
    }

    /// The names of the pattern's `{parameters}`, in order.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Param(name) => Some(*name),
                Segment::Literal(_) => None,
            })
            .collect()
    }

    /// The view's type, without module paths: `OrderView`, `Vec<Merchant>`.
    pub fn view(&self) -> &str {
        &self.view
    }

    /// The view's type with its module paths.
    pub fn view_type(&self) -> &'static str {
        self.view_type
    }

    /// The parameters if `segments` (a request path split at `/`) fits the pattern.
    fn fit<'p>(&self, segments: &[&'p str]) -> Option<Vec<(&'static str, &'p str)>> {
        if segments.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (pattern, segment) in self.segments.iter().zip(segments) {
            match pattern {
                Segment::Literal(literal) if literal == segment => {}
                Segment::Param(name) if !segment.is_empty() => params.push((*name, *segment)),
                _ => return None,
            }
        }
        Some(params)
    }

    /// Whether a path could fit both patterns (a parameter fits any literal).
    pub fn overlaps(&self, other: &Route) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    _ => true,
                })
    }

    /// Runs the handler: reads the body (whole, or streamed by the handler), answers.
    async fn run(
        &self,
        state: &AppState,
        params: &[(&'static str, &str)],
        query: &str,
        body: Incoming,
    ) -> Result<Answer, Failure> {
        match &self.handler {
            Handler::Streamed(handler) => handler(body, state).await,
            Handler::Sync(handler) => {
                let bytes = http::read_body(body).await?;
                let answer = handler(state, &Raw::new(params, query, &bytes));
                if self.method != Method::GET {
                    crate::notify::kick(state);
                }
                answer
            }
            Handler::Awaiting(handler) => {
                let bytes = http::read_body(body).await?;
                handler(state, &Raw::new(params, query, &bytes)).await
            }
        }
    }
}

/// Gives a sync handler's closure its higher-ranked signature.
fn sync_handler<F>(run: F) -> SyncHandler
where
    F: Fn(&AppState, &Raw<'_>) -> Result<Answer, Failure> + Send + Sync + 'static,
{
    Box::new(run)
}

/// Gives an awaiting handler's closure its higher-ranked signature.
fn awaiting_handler<F>(run: F) -> AwaitingHandler
where
    F: for<'a> Fn(&'a AppState, &Raw<'_>) -> BoxFuture<'a, Result<Answer, Failure>>
        + Send
        + Sync
        + 'static,
{
    Box::new(run)
}

/// Gives a streamed handler's closure its higher-ranked signature.
fn streamed_handler<F>(run: F) -> StreamedHandler
where
    F: for<'a> Fn(Incoming, &'a AppState) -> BoxFuture<'a, Result<Answer, Failure>>
        + Send
        + Sync
        + 'static,
{
    Box::new(run)
}

fn describe<I: Input>() -> InputDoc {
    let mut doc = InputDoc::default();
    I::describe(&mut doc);
    doc
}

/// `alloc::vec::Vec<paysandbox_mock_server::admin::wechat::OrderView>` → `Vec<OrderView>`.
fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut path = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            path.push(c);
        } else {
            short.push_str(path.rsplit("::").next().unwrap_or_default());
            path.clear();
            short.push(c);
        }
    }
    short.push_str(path.rsplit("::").next().unwrap_or_default());
    short
}

/// Answers one request from `table`: the route whose pattern and method fit, else 405 if
/// the path fits other methods, else 404.
pub async fn dispatch(
    table: &[Route],
    state: &AppState,
    method: &Method,
    path: &str,
    query: &str,
    body: Incoming,
) -> Result<Answer, Failure> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut allow = Vec::new();
    for route in table {
        let Some(params) = route.fit(&segments) else {
            continue;
        };
        if route.method == *method {
            return route.run(state, &params, query, body).await;
        }
        allow.push(route.method.clone());
    }
    if allow.is_empty() {
        Err(Failure::no_endpoint())
    } else {
        Err(Failure::method_not_allowed(method, path, allow))
    }
}

/// Answers a GET from inside the sandbox, without a request: how the dashboard reads the
/// admin API's own views, so a page shows nothing the API does not.
pub async fn get(
    table: &[Route],
    state: &AppState,
    path: &str,
    query: &str,
) -> Result<Answer, Failure> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let route = table
        .iter()
        .filter(|route| route.method == Method::GET)
        .find_map(|route| route.fit(&segments).map(|params| (route, params)));
    let Some((route, params)) = route else {
        return Err(Failure::no_endpoint());
    };
    let raw = Raw::new(&params, query, &[]);
    match &route.handler {
        Handler::Sync(handler) => handler(state, &raw),
        Handler::Awaiting(handler) => handler(state, &raw).await,
        Handler::Streamed(_) => Err(Failure::bad_request("a streamed endpoint needs a body")),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn nothing(_state: &AppState, _input: ()) -> Result<Reply<()>, Failure> {
        Ok(Reply::ok(()))
    }

    #[derive(Debug, Deserialize)]
    struct RefundPath {
        refund_id: String,
    }

    #[derive(Debug, Deserialize)]
    struct Listing {
        mch_id: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Flag {
        sandbox: bool,
    }

    #[derive(Debug, Deserialize)]
    struct Force {
        status: String,
    }

    #[test]
    fn patterns_fit_their_paths_and_name_their_parameters() {
        let route = Route::sync(
            Method::POST,
            "/admin/wechat/refunds/{refund_id}/status",
            "",
            nothing,
        );
        let fit = |path: &'static str| {
            let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
            route.fit(&segments)
        };
        assert_eq!(
            fit("/admin/wechat/refunds/r-1/status"),
            Some(vec![("refund_id", "r-1")])
        );
        // Trailing slashes were always accepted; empty segments never fill a parameter.
        assert_eq!(
            fit("/admin/wechat/refunds/r%201/status/"),
            Some(vec![("refund_id", "r%201")])
        );
        assert_eq!(fit("/admin/wechat/refunds//status"), None);
        assert_eq!(fit("/admin/wechat/refunds/r-1"), None);
        assert_eq!(fit("/admin/wechat/orders/r-1/status"), None);
        assert_eq!(route.path_params(), ["refund_id"]);
    }

    #[test]
    fn extractors_read_their_part_and_describe_it() {
        let params = [("refund_id", "r-9")];
        let parts = Raw::new(
            &params,
            "mch_id=a%20b&mch_id=second",
            br#"{"status":"SUCCESS","sandbox":true}"#,
        );
        let (Path(path), Query(query), Json(force), Lenient(flag)) =
            <(Path<RefundPath>, Query<Listing>, Json<Force>, Lenient<Flag>)>::read(&parts).unwrap();
        assert_eq!(path.refund_id, "r-9");
        assert_eq!(query.mch_id.as_deref(), Some("a b"));
        assert_eq!(force.status, "SUCCESS");
        assert!(flag.sandbox);
        let doc = describe::<(Path<RefundPath>, Query<Listing>, Json<Force>, Lenient<Flag>)>();
        assert_eq!(doc.path, ["refund_id"]);
        assert_eq!(doc.query, ["mch_id"]);
        assert_eq!(
            doc.body,
            Some(BodyDoc {
                format: BodyFormat::Json,
                types: vec!["Force".to_owned(), "Flag".to_owned()],
                fields: vec!["status", "sandbox"],
            })
        );
    }

    #[test]
    fn optional_and_lenient_bodies() {
        let blank = Raw::new(&[], "", b" \n");
        assert!(!OptionalJson::<Flag>::read(&blank).unwrap().0.sandbox);
        let wrong = Raw::new(&[], "", br#"{"sandbox":"yes"}"#);
        let refused = OptionalJson::<Flag>::read(&wrong).unwrap_err();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(
            refused
                .view()
                .error
                .starts_with("invalid JSON body: sandbox: invalid type: string \"yes\""),
            "{}",
            refused.view().error
        );
        assert_eq!(refused.view().field.as_deref(), Some("sandbox"));
        assert!(!Lenient::<Flag>::read(&wrong).unwrap().0.sandbox);
        let missing = Json::<Force>::read(&blank).unwrap_err();
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            describe::<Lenient<Flag>>().body,
            Some(BodyDoc {
                format: BodyFormat::OptionalJson,
                types: vec!["Flag".to_owned()],
                fields: vec!["sandbox"],
            })
        );
    }

    #[test]
    fn view_names_drop_module_paths() {
        assert_eq!(
            short_type_name("alloc::vec::Vec<paysandbox_mock_server::admin::wechat::OrderView>"),
            "Vec<OrderView>"
        );
        assert_eq!(
            short_type_name("std::collections::hash::map::HashMap<a::Endpoint, usize>"),
            "HashMap<Endpoint, usize>"
        );
        assert_eq!(
            short_type_name(type_name::<Vec<Reply<u64>>>()),
            "Vec<Reply<u64>>"
        );
    }
}
