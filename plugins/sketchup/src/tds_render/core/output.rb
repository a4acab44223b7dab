# frozen_string_literal: true

module Tds
  module Render
    module Core
      # Where results go and what size to capture: pure functions the adapters call.
      module Output
        module_function

        # Next to the model: /work/house.skp -> /work/house-tds-20261128-134906.jpg (then -2, -3 …
        # when that exists). An unsaved model goes to `fallback_dir` as untitled-tds-….jpg.
        def path_for(model_path, time: Time.now, fallback_dir: nil, ext: '.jpg', exists: File.method(:exist?))
          if model_path.to_s.empty?
            raise ArgumentError, 'an unsaved model needs a fallback folder' if fallback_dir.to_s.empty?

            dir = fallback_dir
            stem = 'untitled'
          else
            dir = File.dirname(model_path)
            stem = File.basename(model_path, File.extname(model_path))
          end
          stem = stem.gsub(/[^\p{L}\p{N} ._()-]+/, '_').strip
          stem = 'untitled' if stem.empty?
          base = "#{stem}-tds-#{time.strftime('%Y%m%d-%H%M%S')}"
          path = File.join(dir, base + ext)
          n = 1
          while exists.call(path)
            n += 1
            path = File.join(dir, "#{base}-#{n}#{ext}")
          end
          path
        end

        # The capture size for a viewport of width × height: aspect kept, long edge at the render
        # resolution but at most `cap` (the server scales the rest), each side at least 16 px.
        def capture_size(width, height, long_edge, cap: 2048)
          raise ArgumentError, 'the view has no size' if width.to_i <= 0 || height.to_i <= 0

          target = [long_edge.to_i, cap].min
          scale = target.to_f / [width, height].max
          [[(width * scale).round, 16].max, [(height * scale).round, 16].max]
        end

        # [width, height] of PNG bytes, or nil when they are not a PNG.
        def png_size(bytes)
          data = bytes.to_s.b
          return nil unless data.bytesize >= 24 && data.start_with?("\x89PNG\r\n\x1a\n".b) && data[12, 4] == 'IHDR'

          data[16, 8].unpack('NN')
        end

        # The extension for an image's bytes (the API answers JPEG; PNG and WebP for safety).
        def image_ext(bytes)
          data = bytes.to_s.b
          return '.jpg' if data.start_with?("\xFF\xD8\xFF".b)
          return '.png' if data.start_with?("\x89PNG".b)
          return '.webp' if data[0, 4] == 'RIFF' && data[8, 4] == 'WEBP'

          nil
        end
      end
    end
  end
end
