// WebSocketSession over plain TCP: the one instantiation of its Beast templates for ws://.
#include "server/net/websocket_session_impl.hpp"

namespace newspush {

template class WebSocketSession<boost::asio::ip::tcp::socket>;

}  // namespace newspush
