// A chat server: every line a client sends goes to every other client, prefixed with its name.
// Each client runs a TaskGroup of two tasks: one reads its lines and hands them to the others'
// queues, one writes what its own queue receives. When either ends (EOF, an error, a client too
// slow to keep up) the group cancels the other, and the client leaves.
//
//   chat_server [host] [port] [--until-stdin-closes] [--idle-timeout SECONDS]
//               (defaults: 127.0.0.1, 0, 600 s of silence before a client is dropped)
//
// Prints "serving on HOST:PORT". Try two terminals with: nc 127.0.0.1 PORT

#include <asyncio/asyncio.hpp>

#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "example_server.hpp"

namespace {

/// A client's outgoing lines. Bounded: a client that does not read is dropped rather than let
/// the server's memory grow without limit.
struct Client {
  std::string name;
  asyncio::Queue<std::string> outbox{256};
};

class Room {
 public:
  std::list<std::shared_ptr<Client>>::iterator join(std::shared_ptr<Client> client) {
    broadcast(nullptr, "* " + client->name + " joined\n");
    return clients_.insert(clients_.end(), std::move(client));
  }

  void leave(std::list<std::shared_ptr<Client>>::iterator it) {
    const std::string name = (*it)->name;
    clients_.erase(it);
    broadcast(nullptr, "* " + name + " left\n");
  }

  /// Puts `line` in every other client's outbox; one whose outbox is full is shut down (its
  /// writer task then ends with QueueShutDown, which ends its group).
  void broadcast(const Client* from, const std::string& line) {
    for (const auto& client : clients_) {
      if (client.get() == from) continue;
      try {
        client->outbox.put_nowait(line);
      } catch (const asyncio::QueueFull&) {
        client->outbox.shutdown(true);
      } catch (const asyncio::QueueShutDown&) {
      }
    }
  }

 private:
  std::list<std::shared_ptr<Client>> clients_;
};

Room room;
int next_id = 1;

// A client silent for `idle_timeout` seconds is dropped (the TimeoutError ends its group).
asyncio::Coro<void> read_lines(std::shared_ptr<asyncio::StreamReader> reader, std::shared_ptr<Client> me,
                               double idle_timeout) {
  asyncio::EventLoop& loop = asyncio::get_running_loop();
  const bool timed = idle_timeout > 0;
  auto deadline = asyncio::timeout(timed ? std::optional<double>(idle_timeout) : std::nullopt);
  co_await deadline.run([&]() -> asyncio::Coro<void> {
    for (;;) {
      std::string line = co_await reader->readline();
      if (line.empty()) co_return;  // EOF: the client left
      if (line.back() != '\n') line += '\n';
      room.broadcast(me.get(), me->name + ": " + line);
      if (timed) deadline.reschedule(loop.time() + idle_timeout);
    }
  });
}

asyncio::Coro<void> write_lines(asyncio::StreamWriter& writer, std::shared_ptr<Client> me) {
  for (;;) {
    std::string line = co_await me->outbox.get();
    writer.write(line);
    co_await writer.drain();
  }
}

asyncio::Coro<void> handle(std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer,
                           double idle_timeout) {
  auto me = std::make_shared<Client>();
  me->name = "user" + std::to_string(next_id++);
  writer.write("* you are " + me->name + "\n");
  auto seat = room.join(me);
  try {
    asyncio::TaskGroup group;
    co_await group.run([&](asyncio::TaskGroup& g) -> asyncio::Coro<void> {
      g.create_task(write_lines(writer, me));
      co_await read_lines(reader, me, idle_timeout);  // the body reads; when the client leaves, so does the writer
      g.cancel();
    });
  } catch (const asyncio::ExceptionGroup&) {
    // A connection error, a line over the limit, a silent client or an outbox shut down for a
    // slow one: the client leaves either way.
  }
  room.leave(seat);
}

asyncio::Coro<void> serve(examples::ServerArgs args) {
  auto server = co_await asyncio::start_server(
      [timeout = args.idle_timeout](std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer) {
        return handle(std::move(reader), std::move(writer), timeout);
      },
      args.host, args.port);
  co_await examples::serve_until_stopped(server, args.until_stdin_closes);
}

}  // namespace

int main(int argc, char** argv) {
  // Chat users are quiet for minutes at a time: ten of them before a silent client is dropped.
  return examples::run_example("chat_server", serve(examples::parse_server_args(argc, argv, 600)));
}
