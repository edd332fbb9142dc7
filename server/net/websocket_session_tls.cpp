// WebSocketSession over TLS (wss://): its own translation unit, so that it compiles in parallel
// with the plain one.
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "server/net/websocket_session_impl.hpp"

namespace newspush {

template class WebSocketSession<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace newspush
