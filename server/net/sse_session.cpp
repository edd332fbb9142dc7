// SseSession over plain TCP.
#include "server/net/sse_session_impl.hpp"

namespace newspush {

template class SseSession<boost::asio::ip::tcp::socket>;

}  // namespace newspush
