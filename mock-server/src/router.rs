//! Which handler answers a request: the admin API on the admin listener, the platform
//! routes on the API listeners (Alipay's `/gateway.do` first, then the WeChat paths; both on
//! HTTPS and plain HTTP), nginx-style 404 pages for anything else.

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::admin;
use crate::alipay;
use crate::http::{self, Body};
use crate::server::{ConnInfo, Surface};
use crate::state::AppState;
use crate::wechat;

/// Answers one request.
pub async fn handle(
    request: Request<Incoming>,
    state: &AppState,
    info: &ConnInfo,
) -> Response<Body> {
    match info.surface {
        Surface::Admin => admin::handle(request, state).await,
        Surface::ApiTls | Surface::ApiPlain if request.uri().path() == alipay::PATH => {
            alipay::handle(request, state, info).await
        }
        Surface::ApiTls | Surface::ApiPlain => {
            match wechat::Route::from_path(request.uri().path()) {
                Some(route) => wechat::handle(route, request, state, info).await,
                None => http::nginx_error(StatusCode::NOT_FOUND, None),
            }
        }
    }
}
