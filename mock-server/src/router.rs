//! Which handler answers a request: the dashboard's pages (`/`, `/dashboard/...`) and the
//! admin API on the admin listener, the platform
//! routes on the API listeners (Alipay's `/gateway.do` and its bill downloads first, then the
//! WeChat API v3 paths under `/v3/`, then the v2 paths; both on HTTPS and plain HTTP), nginx-style 404 pages for anything else.

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::admin;
use crate::alipay;
use crate::dashboard;
use crate::http::{self, Body, ConnInfo, Surface};
use crate::state::AppState;
use crate::wechat;

/// Answers one request. With `--persist`, the answer leaves only once every change made
/// before it (its own, and any it shows) is on disk; if that fails, the answer is a 500
/// instead, since what it would claim may be lost.
pub async fn handle(
    request: Request<Incoming>,
    state: &AppState,
    info: &ConnInfo,
) -> Response<Body> {
    let response = route(request, state, info).await;
    match state.persist().await {
        Ok(()) => response,
        Err(e) => {
            tracing::error!("{e}");
            http::nginx_error(StatusCode::INTERNAL_SERVER_ERROR, None)
        }
    }
}

async fn route(request: Request<Incoming>, state: &AppState, info: &ConnInfo) -> Response<Body> {
    if info.surface == Surface::Admin
        && let Err(refused) = admin::origin::check(request.method(), request.headers())
    {
        return refused.into_response();
    }
    match info.surface {
        Surface::Admin if dashboard::serves(request.uri().path()) => {
            dashboard::handle(request, state).await
        }
        Surface::Admin => admin::handle(request, state).await,
        Surface::ApiTls | Surface::ApiPlain if request.uri().path() == alipay::PATH => {
            let response = alipay::handle(request, state, info).await;
            // A refund or close may have produced a notification.
            state.delivery.wake();
            response
        }
        Surface::ApiTls | Surface::ApiPlain
            if request.uri().path() == alipay::bill::DOWNLOAD_PATH =>
        {
            alipay::bill::download(&request, state, info)
        }
        Surface::ApiTls | Surface::ApiPlain
            if request.uri().path().starts_with(wechat::v3::PREFIX) =>
        {
            let response = wechat::v3::handle(request, state, info).await;
            // A refund query may have settled a refund.
            state.delivery.wake();
            response
        }
        Surface::ApiTls | Surface::ApiPlain => {
            match wechat::Route::from_path(request.uri().path()) {
                Some(route) => {
                    let response = wechat::handle(route, request, state, info).await;
                    // Settlement is lazy: a query may have finished a refund.
                    state.delivery.wake();
                    response
                }
                None => http::nginx_error(StatusCode::NOT_FOUND, None),
            }
        }
    }
}
