# frozen_string_literal: true

module Tds
  module Render
    module Host
      IMAGES = File.expand_path('../images', __dir__)
      HTML = File.expand_path('../html', __dir__)

      # Runs a block later on SketchUp's main thread (the core's scheduler). No sleeps, no threads.
      TIMER = lambda do |seconds, &block|
        UI.start_timer(seconds, false) { block.call }
      end

      # The core's transport over Sketchup::Http::Request (SketchUp 2017+): asynchronous, with the
      # callback on the main thread, so the UI never freezes. Net::HTTP would block SketchUp.
      class HttpTransport
        METHODS = { get: 'GET', post: 'POST' }.freeze

        def initialize
          # A request nobody references can be garbage-collected mid-flight and then fails
          # silently, so every pending one is kept here until its callback ran.
          @pending = {}
        end

        def pending_count
          @pending.size
        end

        def call(request, &callback)
          http = Sketchup::Http::Request.new(request.url, Sketchup::Http.const_get(METHODS.fetch(request.method)))
          http.headers = request.headers
          http.body = request.body if request.body
          token = http.object_id
          @pending[token] = http
          finished = false
          # Sketchup::Http has no timeout of its own: a one-shot timer cancels the request. The
          # response callback itself never cancels (the API forbids it).
          timer = UI.start_timer(request.timeout, false) do
            next if finished

            finished = true
            @pending.delete(token)
            http.cancel
            callback.call(Core::Response.failure(:timeout))
          end
          http.start do |req, res|
            next if finished

            finished = true
            UI.stop_timer(timer)
            @pending.delete(token)
            callback.call(response_for(req, res))
          end
        end

        private

        def response_for(req, res)
          if res.nil? || req.status == Sketchup::Http::STATUS_FAILED || res.status_code.to_i.zero?
            Core::Response.failure(:network)
          else
            Core::Response.new(res.status_code, res.headers, res.body)
          end
        end
      end
    end
  end
end
